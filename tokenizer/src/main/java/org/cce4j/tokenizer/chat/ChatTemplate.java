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

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * tokenizer_config.json's Jinja {@code chat_template} (or a chat_template.jinja file), rendered as
 * transformers' {@code apply_chat_template(..., tokenize=False)} renders it: Jinjava configured like
 * transformers' environment ({@code trim_blocks}, {@code lstrip_blocks}, loop controls), with
 * the globals transformers adds ({@code raise_exception}, {@code strftime_now}), Python's
 * {@code tojson} and {@code trim}, Python's str methods, transformers' {@code generation} block,
 * and the special tokens ({@code bos_token}, ...) in the context.
 *
 * <p>{@link #renderWithSpans} also gives the character spans of the assistant turns, so that a
 * trainer can leave the prompt out of the loss, in one of two ways ({@link SpanSource}):
 * <ul>
 *   <li>a template with {@code {% generation %}...{% endgeneration %}} blocks: each block's text,
 *       exactly what transformers' {@code return_assistant_tokens_mask=True} marks;</li>
 *   <li>any other template: the span of assistant message i is what rendering messages[0..i] adds
 *       to the prompt of messages[0..i) with the generation prompt, i.e. the reply and the
 *       template's end-of-turn text ({@code "4<|eot_id|>"}, {@code "4<end_of_turn>\n"}). Where the
 *       template renders a turn differently once messages follow it (Qwen 3 writes an empty
 *       {@code <think>} block into the last reply only), the span in the whole conversation runs
 *       from the end of the generation prompt to the end of that turn's end-of-turn text, found by
 *       rendering the reply with a marker after it (see {@link SpanFinder}).</li>
 * </ul>
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

    /** Where the spans of a rendering came from. */
    public enum SpanSource {
        /** The template's {@code {% generation %}} blocks (their k-th span is the k-th assistant message's when the counts agree, else index -1). */
        GENERATION_TAGS,
        /** Renderings of the conversation's prefixes (one span per assistant message). */
        PREFIXES
    }

    /** The rendered text and the spans of its assistant turns, in order and not overlapping. */
    public record Rendered(String text, List<Span> assistantSpans, SpanSource source) {}

    private final String template;
    private final String compiled;   // the template with Jinja's `not` precedence, keyword-argument values and [::-1] made explicit
    private final Map<String, Object> specialTokens;
    private final Jinjava jinjava;
    private final boolean hasGenerationTags;

    public ChatTemplate(String template, Map<String, Object> specialTokens) {
        if (template == null) throw new TokenizerException("no chat_template in tokenizer_config.json");
        this.template = template;
        this.compiled = ReverseSlice.rewrite(KeywordArguments.rewrite(NotPrecedence.rewrite(template)));
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
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        this.hasGenerationTags = GENERATION_BLOCK.matcher(template).find();
    }

    private static final Pattern GENERATION_BLOCK = Pattern.compile("\\{%[-+]?\\s*generation\\s*[-+]?%}");

    /** The chat template of a tokenizer loaded from a folder with tokenizer_config.json. */
    public static ChatTemplate of(Tokenizer tokenizer) {
        return new ChatTemplate(tokenizer.config().chatTemplate(), specialTokens(tokenizer.config()));
    }

    /**
     * The chat template of a tokenizer folder as transformers loads it: chat_template.jinja when the
     * folder has one (it takes precedence; transformers writes templates there when it saves a
     * tokenizer), else tokenizer_config.json's {@code chat_template}.
     */
    public static ChatTemplate of(Tokenizer tokenizer, Path folder) {
        Path jinja = folder.resolve("chat_template.jinja");
        return Files.isRegularFile(jinja) ? fromFile(jinja, tokenizer) : of(tokenizer);
    }

    /** A template from a .jinja file, with the special tokens of {@code tokenizer}'s tokenizer_config.json. */
    public static ChatTemplate fromFile(Path jinja, Tokenizer tokenizer) {
        try {
            return new ChatTemplate(Files.readString(jinja, StandardCharsets.UTF_8), specialTokens(tokenizer.config()));
        } catch (NoSuchFileException e) {
            throw new TokenizerException(jinja + ": no such file");
        } catch (IOException e) {
            throw new TokenizerException(jinja + ": cannot read the chat template (" + e.getMessage() + ")", e);
        }
    }

    /** bos_token, eos_token, unk_token and pad_token as the template sees them (those the config names). */
    private static Map<String, Object> specialTokens(TokenizerConfig c) {
        Map<String, Object> specials = new HashMap<>();
        if (c.bosToken() != null) specials.put("bos_token", c.bosToken());
        if (c.eosToken() != null) specials.put("eos_token", c.eosToken());
        if (c.unkToken() != null) specials.put("unk_token", c.unkToken());
        if (c.padToken() != null) specials.put("pad_token", c.padToken());
        return specials;
    }

    public String template() {
        return template;
    }

    /** Whether the template marks what the assistant generates with {@code {% generation %}} blocks. */
    public boolean hasGenerationTags() {
        return hasGenerationTags;
    }

    /** The conversation as text; {@code extra} adds template variables (tools, date_string, ...). */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        String raw = renderRaw(messages, addGenerationPrompt, extra);
        return hasGenerationTags ? GenerationMarkers.strip(raw) : raw;
    }

    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null);
    }

    /**
     * The conversation as text, with the span of each assistant turn: from the template's
     * generation blocks when it has them, else from renderings of the conversation's prefixes
     * (see the class comment).
     */
    public Rendered renderWithSpans(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        if (hasGenerationTags) {
            GenerationMarkers.requireAbsent(messages);
            GenerationMarkers.Parsed p = GenerationMarkers.parse(renderRaw(messages, addGenerationPrompt, extra));
            List<Integer> assistants = new ArrayList<>();
            for (int i = 0; i < messages.size(); i++) if ("assistant".equals(messages.get(i).get("role"))) assistants.add(i);
            boolean oneEach = assistants.size() == p.ranges().size();
            List<Span> spans = new ArrayList<>();
            for (int k = 0; k < p.ranges().size(); k++) {
                int[] r = p.ranges().get(k);
                spans.add(new Span(oneEach ? assistants.get(k) : -1, r[0], r[1]));
            }
            return new Rendered(p.text(), List.copyOf(spans), SpanSource.GENERATION_TAGS);
        }
        return new Rendered(render(messages, addGenerationPrompt, extra),
                SpanFinder.spans(this, messages, addGenerationPrompt, extra, false), SpanSource.PREFIXES);
    }

    /**
     * Like {@link #renderWithSpans}, but only the span of the last assistant message is looked for
     * (one span, or none without an assistant message), which spares the prefix renderings of the
     * earlier turns.
     */
    public Rendered renderWithLastSpan(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        if (hasGenerationTags) {
            Rendered all = renderWithSpans(messages, addGenerationPrompt, extra);
            List<Span> spans = all.assistantSpans();
            return new Rendered(all.text(), spans.isEmpty() ? List.of() : List.of(spans.get(spans.size() - 1)), all.source());
        }
        return new Rendered(render(messages, addGenerationPrompt, extra),
                SpanFinder.spans(this, messages, addGenerationPrompt, extra, true), SpanSource.PREFIXES);
    }

    /** The template's output, with generation markers still in it when the template has generation blocks. */
    private String renderRaw(List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
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
}
