package org.cce4j.tokenizer.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;
import java.util.Map;

/**
 * The globals and filters transformers adds to its Jinja environment, with Python's semantics:
 * {@code raise_exception(msg)}, {@code strftime_now(fmt)}, and the {@code tojson} and {@code trim}
 * filters (Python's json.dumps and str.strip rather than Jinjava's Java-flavoured ones).
 */
public final class TemplateFunctions {
    private TemplateFunctions() {}

    /** Raised by a template's {@code raise_exception}. */
    public static final class RaisedException extends RuntimeException {
        RaisedException(String message) {
            super(message);
        }
    }

    public static Object raiseException(String message) {
        throw new RaisedException(message);
    }

    /** Python's {@code datetime.now().strftime(fmt)} for the common directives. */
    public static String strftimeNow(String format) {
        return strftime(ZonedDateTime.now(), format);
    }

    static String strftime(ZonedDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    /** {@code tojson(indent=None)}: Python's json.dumps with ensure_ascii=False. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PythonJson.dumps(var, args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.get("indent");
            if (indent == null && args.length > 0) indent = args[0];
            return PythonJson.dumps(var, indent == null ? null : ((Number) (indent instanceof Number ? indent : Long.valueOf(indent.toString()))).intValue());
        }
    }

    /** {@code trim}: Python's str.strip() (Unicode whitespace, including no-break spaces). */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) return "";
            return PythonStrings.strip(var.toString(), args.length > 0 ? args[0] : null, true, true);
        }
    }
}
