package org.cce4j.tokenizer.chat;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.TokenizerException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.cce4j.tokenizer.chat.ChatTemplate.message;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code {% generation %}} block (what transformers' AssistantTracker records), the prefix
 * method for templates without it, including one that rewrites the last turn as Qwen 3's does, and
 * the Jinja syntax Qwen 3's template needs (keyword-argument expressions, {@code [::-1]}). The
 * expected texts are what Jinja renders (trim_blocks and lstrip_blocks on, as transformers sets them).
 */
class GenerationBlocksTest {
    private static final List<Map<String, Object>> CHAT = List.of(message("user", "hi"), message("assistant", "yo"),
            message("user", "again"), message("assistant", "ok"));

    private static final String TAGGED = """
            {%- for m in messages %}
                {%- if m.role == 'assistant' %}
                    {{- '<a>' }}
                    {%- generation %}
                    {{- m.content + '</s>' }}
                    {%- endgeneration %}
                {%- else %}
                    {{- '<u>' + m.content + '</s>' }}
                {%- endif %}
            {%- endfor %}""";

    @Test
    void generationBlocksGiveTheCharacterRangesTheyRenderAndLeaveTheTextAsItIs() {
        ChatTemplate t = new ChatTemplate(TAGGED, Map.of());
        assertTrue(t.hasGenerationTags());
        String text = "<u>hi</s><a>yo</s><u>again</s><a>ok</s>";
        assertEquals(text, t.render(CHAT, false));
        ChatTemplate.Rendered r = t.renderWithSpans(CHAT, false, null);
        assertEquals(text, r.text());
        assertEquals(ChatTemplate.SpanSource.GENERATION_TAGS, r.source());
        assertEquals(List.of(new ChatTemplate.Span(1, 12, 18), new ChatTemplate.Span(3, 33, 39)), r.assistantSpans());
        assertEquals("yo</s>", text.substring(12, 18));
        assertEquals(List.of(new ChatTemplate.Span(3, 33, 39)), t.renderWithLastSpan(CHAT, false, null).assistantSpans());
    }

    @Test
    void whitespaceControlAndScopeWorkAsInJinja() {
        // {%- ... -%} trims around the tags; a set inside the block stays inside it (a Jinja call block); a namespace outlives it
        ChatTemplate t = new ChatTemplate("{% set x = 'out' %}{% set ns = namespace(n=0) %}A  {%- generation -%}  \n B{% set x = 'in' %}"
                + "{% set ns.n = 1 %}{{ x }}  {%- endgeneration -%}\n  C{{ x }}{{ ns.n }}", Map.of());
        ChatTemplate.Rendered r = t.renderWithSpans(List.of(message("assistant", "")), false, null);
        assertEquals("ABinCout1", r.text());
        assertEquals(List.of(new ChatTemplate.Span(0, 1, 4)), r.assistantSpans());
    }

    @Test
    void blocksThatDoNotMatchTheAssistantMessagesHaveNoMessageIndex() {
        ChatTemplate t = new ChatTemplate("{% generation %}x{% endgeneration %}{% generation %}{% endgeneration %}y", Map.of());
        ChatTemplate.Rendered r = t.renderWithSpans(List.of(message("assistant", "a")), false, null);
        assertEquals("xy", r.text());
        assertEquals(List.of(new ChatTemplate.Span(-1, 0, 1), new ChatTemplate.Span(-1, 1, 1)), r.assistantSpans());
    }

    @Test
    void nestedBlocksAndMarkerCharactersInMessagesAreRefused() {
        ChatTemplate nested = new ChatTemplate("{% generation %}{% generation %}x{% endgeneration %}{% endgeneration %}", Map.of());
        TokenizerException e = assertThrows(TokenizerException.class, () -> nested.renderWithSpans(List.of(), false, null));
        assertTrue(e.getMessage().contains("inside another"), e.getMessage());
        ChatTemplate t = new ChatTemplate(TAGGED, Map.of());
        e = assertThrows(TokenizerException.class, () -> t.renderWithSpans(List.of(message("user", "a\uFDD0b")), false, null));
        assertTrue(e.getMessage().contains("U+FDD0"), e.getMessage());
    }

    @Test
    void withoutBlocksTheSpanIsWhatTheTurnAddsToThePromptWithTheGenerationPrompt() {
        ChatTemplate t = new ChatTemplate(TAGGED.replace("{%- generation %}", "").replace("{%- endgeneration %}", "")
                + "{% if add_generation_prompt %}<a>{% endif %}", Map.of());
        assertFalse(t.hasGenerationTags());
        ChatTemplate.Rendered r = t.renderWithSpans(CHAT, false, null);
        assertEquals(ChatTemplate.SpanSource.PREFIXES, r.source());
        assertEquals(List.of(new ChatTemplate.Span(1, 12, 18), new ChatTemplate.Span(3, 33, 39)), r.assistantSpans());
    }

    @Test
    void aTurnRewrittenOnceMessagesFollowItEndsAfterItsOwnEndOfTurnText() {
        // like Qwen 3: only the last reply gets the <think></think> block
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}<a>{% if loop.last %}<think></think>{% endif %}"
                + "{{ m.content }}</s>\n{% else %}<u>{{ m.content }}</s>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<a>{% endif %}", Map.of());
        ChatTemplate.Rendered r = t.renderWithSpans(CHAT, false, null);
        String text = "<u>hi</s>\n<a>yo</s>\n<u>again</s>\n<a><think></think>ok</s>\n";
        assertEquals(text, r.text());
        assertEquals(List.of(new ChatTemplate.Span(1, 13, 20), new ChatTemplate.Span(3, 36, 58)), r.assistantSpans());
        assertEquals("yo</s>\n", text.substring(13, 20));
        assertEquals("<think></think>ok</s>\n", text.substring(36, 58));
    }

    @Test
    void aTemplateWhoseEarlierTurnsChangeIsRefusedWithAHint() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}[{{ messages|length - loop.index0 }}]{{ m.content }}{% endfor %}", Map.of());
        TokenizerException e = assertThrows(TokenizerException.class, () -> t.renderWithSpans(CHAT, false, null));
        assertEquals("cannot find assistant message 1 in the rendered chat: the messages before it render differently inside the whole"
                + " conversation (a chat template with {% generation %} blocks marks the assistant's text exactly)", e.getMessage());
    }

    @Test
    void keywordArgumentExpressionsAndReversingSlicesRenderAsInJinja() {
        // Qwen 3: namespace(last_query_index=messages|length - 1) and messages[::-1]
        ChatTemplate t = new ChatTemplate("{%- set ns = namespace(a=messages|length - 1, b='x') %}{{ ns.a }}{{ ns.b }}"
                + "{% for m in messages[::-1] %}{{ m.content }}{% endfor %}{{ 'a[::-1]' }}", Map.of());
        assertEquals("3xokagainyohia[::-1]", t.render(CHAT, false));
        assertEquals("f(a=(x|length - 1), b=(g(c=(1))))", KeywordArguments.rewriteExpression("f(a=x|length - 1, b=g(c=1))"));
        assertEquals(" x == y and f(k=(v)) ", KeywordArguments.rewriteExpression(" x == y and f(k=v) "));
    }

    @Test
    void aFoldersChatTemplateJinjaTakesPrecedenceOverTokenizerConfig(@TempDir Path dir) throws Exception {
        String tokenizerJson = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],\"normalizer\":null,"
                + "\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":\"BPE\","
                + "\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":false,"
                + "\"byte_fallback\":false,\"vocab\":{\"a\":0},\"merges\":[]}}";
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\", \"chat_template\": \"config{{ bos_token }}\"}");
        Tokenizer tok = Tokenizer.load(dir);
        assertEquals("config<s>", ChatTemplate.of(tok, dir).render(List.of(), false));
        Files.writeString(dir.resolve("chat_template.jinja"), "jinja{{ bos_token }}");
        assertEquals("jinja<s>", ChatTemplate.of(tok, dir).render(List.of(), false));
        assertEquals(dir.resolve("none.jinja") + ": no such file",
                assertThrows(TokenizerException.class, () -> ChatTemplate.fromFile(dir.resolve("none.jinja"), tok)).getMessage());
    }
}
