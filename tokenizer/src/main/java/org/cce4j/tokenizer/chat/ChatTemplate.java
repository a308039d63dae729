package org.cce4j.tokenizer.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import jinjava.javax.el.CompositeELResolver;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerConfig;
import org.cce4j.tokenizer.TokenizerException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * tokenizer_config.json's Jinja {@code chat_template}, rendered as transformers'
 * {@code apply_chat_template(..., tokenize=False)} renders it: Jinjava configured like
 * transformers' environment ({@code trim_blocks}, {@code lstrip_blocks}, loop controls), with
 * the globals transformers adds ({@code raise_exception}, {@code strftime_now}), Python's
 * {@code tojson} and {@code trim}, Python's str methods, and the special tokens
 * ({@code bos_token}, ...) in the context.
 *
 * <p>{@link #renderWithSpans} also gives the character spans of the assistant turns, so that a
 * trainer can leave the prompt out of the loss: the span of assistant message i is what
 * rendering messages[0..i] adds to the prompt of messages[0..i) with the generation prompt,
 * i.e. the reply and the template's end-of-turn text (e.g. {@code "4<|eot_id|>"}).
 */
public final class ChatTemplate {
    /** A chat message: {@code role}, {@code content} (a string, or a list of parts), and any other fields. */
    public static Map<String, Object> message(String role, Object content) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /** A character span {@code [start, end)} of the rendered text, for message {@code messageIndex}. */
    public record Span(int messageIndex, int start, int end) {}

    /** The rendered text and the spans of its assistant turns. */
    public record Rendered(String text, List<Span> assistantSpans) {}

    private final String template;
    private final String compiled;   // the template with Jinja's `not` precedence made explicit
    private final Map<String, Object> specialTokens;
    private final Jinjava jinjava;

    public ChatTemplate(String template, Map<String, Object> specialTokens) {
        if (template == null) throw new TokenizerException("no chat_template in tokenizer_config.json");
        this.template = template;
        this.compiled = NotPrecedence.rewrite(template);
        this.specialTokens = specialTokens;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)   // {{- x -}} and {#- -#} trim like Jinja
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                TemplateFunctions.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                TemplateFunctions.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.ToJson());
        jinjava.getGlobalContext().registerFilter(new TemplateFunctions.Trim());
    }

    /** The chat template of a tokenizer loaded from a folder with tokenizer_config.json. */
    public static ChatTemplate of(Tokenizer tokenizer) {
        TokenizerConfig c = tokenizer.config();
        Map<String, Object> specials = new HashMap<>();
        if (c.bosToken() != null) specials.put("bos_token", c.bosToken());
        if (c.eosToken() != null) specials.put("eos_token", c.eosToken());
        if (c.unkToken() != null) specials.put("unk_token", c.unkToken());
        if (c.padToken() != null) specials.put("pad_token", c.padToken());
        return new ChatTemplate(c.chatTemplate(), specials);
    }

    public String template() {
        return template;
    }

    /** The conversation as text; {@code extra} adds template variables (tools, date_string, ...). */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        if (extra != null) context.putAll(extra);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r = jinjava.renderForResult(compiled, context);
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = e.getException();
                while (cause != null && !(cause instanceof TemplateFunctions.RaisedException)) cause = cause.getCause();
                if (cause != null) throw new TokenizerException("chat template raised: " + cause.getMessage());
                throw new TokenizerException("chat template error: " + e.getMessage()
                        + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : ""));
            }
        }
        return r.getOutput();
    }

    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null);
    }

    /** The conversation as text, with the span of each assistant message's turn. */
    public Rendered renderWithSpans(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        String full = render(messages, addGenerationPrompt, extra);
        List<Span> spans = new ArrayList<>();
        int searchFrom = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).get("role"))) continue;
            String prompt = render(messages.subList(0, i), true, extra);
            String through = render(messages.subList(0, i + 1), false, extra);
            if (through.startsWith(prompt) && full.startsWith(through) && prompt.length() >= searchFrom) {
                spans.add(new Span(i, prompt.length(), through.length()));
                searchFrom = through.length();
                continue;
            }
            // templates that rewrite earlier turns: fall back to finding the reply itself
            Object content = messages.get(i).get("content");
            String reply = content == null ? "" : PythonStrings.strip(content.toString(), null, true, true);
            int at = reply.isEmpty() ? -1 : full.indexOf(reply, searchFrom);
            if (at < 0) throw new TokenizerException("cannot locate assistant message " + i + " in the rendered chat");
            spans.add(new Span(i, at, at + reply.length()));
            searchFrom = at + reply.length();
        }
        return new Rendered(full, spans);
    }
}
