package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.RowReport;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link FormatReport} as the strings of a token file's metadata and back, so that a run reading
 * the cache reports the very numbers (rows, truncated, split, skipped by kind with the first message)
 * that the run which tokenized reported.
 */
final class ReportCodec {
    private ReportCodec() {}

    static Map<String, String> encode(FormatReport f) {
        RowReport r = f.rows();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", f.format().key());
        m.put("detected", Boolean.toString(f.detected()));
        m.put("file", r.file());
        m.put("lines", Long.toString(r.lines()));
        m.put("rows", Integer.toString(r.rows()));
        m.put("tokens", Long.toString(r.tokens()));
        m.put("targets", Long.toString(r.targets()));
        m.put("truncated", Long.toString(r.truncated()));
        m.put("split", Long.toString(r.split()));
        m.put("dropped_pieces", Long.toString(r.droppedPieces()));
        m.put("boundary_merged", Long.toString(f.boundaryMerged()));
        if (f.spanSource() != null) m.put("span_source", f.spanSource());
        r.skipped().forEach((k, s) -> {
            m.put("skipped." + k.key() + ".count", Long.toString(s.count()));
            m.put("skipped." + k.key() + ".first", s.first());
        });
        return m;
    }

    /** The report stored by {@link #encode}; IllegalArgumentException when a field is missing. */
    static FormatReport decode(Map<String, String> m) {
        Map<BadRow, RowReport.Skipped> skipped = new EnumMap<>(BadRow.class);
        for (BadRow k : BadRow.values()) {
            String count = m.get("skipped." + k.key() + ".count");
            if (count != null) skipped.put(k, new RowReport.Skipped(Long.parseLong(count), m.get("skipped." + k.key() + ".first")));
        }
        RowReport r = new RowReport(need(m, "file"), num(m, "lines"), (int) num(m, "rows"), num(m, "tokens"), num(m, "targets"),
                num(m, "truncated"), num(m, "split"), num(m, "dropped_pieces"), skipped);
        return new FormatReport(DataFormat.parse(need(m, "format")), Boolean.parseBoolean(need(m, "detected")), r,
                num(m, "boundary_merged"), m.get("span_source"));
    }

    private static String need(Map<String, String> m, String k) {
        String v = m.get(k);
        if (v == null) throw new IllegalArgumentException("no " + k + " in the cached report");
        return v;
    }

    private static long num(Map<String, String> m, String k) {
        return Long.parseLong(need(m, k));
    }
}
