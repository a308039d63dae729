package org.cce4j.tokenizer.chat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.tokenizer.TokenizerException;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Chat templates against transformers' apply_chat_template (the fixture made by
 * tools/reference/chat_templates.py): the Llama 3, Llama 3.1 and Gemma 3 templates of the real
 * tokenizer_config.json files, a Llama 3.1 template with tools, and a template that exercises the
 * Jinja features templates use (namespace, loop controls, Python str methods, tojson, slicing,
 * filters); with and without the generation prompt; and raise_exception.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode fixture() throws Exception {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/reference/chat_templates.json")) {
            return JSON.readTree(in);
        }
    }

    static List<Map<String, Object>> messages(JsonNode n) {
        return JSON.convertValue(n, new TypeReference<List<Map<String, Object>>>() {});
    }

    @Test
    void rendersWhatTransformersRenders() throws Exception {
        JsonNode f = fixture();
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (JsonNode c : f.get("cases")) {
            String name = c.get("template").asText();
            Map<String, Object> specials = JSON.convertValue(f.get("special_tokens").get(name), new TypeReference<LinkedHashMap<String, Object>>() {});
            ChatTemplate t = new ChatTemplate(f.get("templates").get(name).asText(), specials);
            List<Map<String, Object>> msgs = messages(f.get("conversations").get(c.get("conversation").asText()));
            Map<String, Object> extra = JSON.convertValue(c.get("extra"), new TypeReference<LinkedHashMap<String, Object>>() {});
            boolean gen = c.get("add_generation_prompt").asBoolean();
            String label = name + "/" + c.get("conversation").asText() + "/" + extra.keySet() + "/gen=" + gen;
            compared++;
            if (c.has("error")) {
                try {
                    t.render(msgs, gen, extra);
                    problems.add(label + ": expected an error like " + c.get("error").asText());
                } catch (TokenizerException e) {
                    String expected = c.get("error").asText().replaceFirst("^\\w+: ", "");
                    if (!e.getMessage().contains(expected)) problems.add(label + ": error " + e.getMessage() + " does not say " + expected);
                }
                continue;
            }
            String expected = c.get("output").asText();
            try {
                String actual = t.render(msgs, gen, extra);
                if (!expected.equals(actual)) problems.add(label + ":\n--- expected\n" + expected + "\n--- actual\n" + actual);
            } catch (TokenizerException e) {
                problems.add(label + ": " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) fail(problems.size() + " of " + compared + " renders differ:\n" + String.join("\n", problems));
        assertTrue(compared > 50);
    }

    @Test
    void assistantSpansCoverEachReplyAndItsEndOfTurn() throws Exception {
        JsonNode f = fixture();
        List<Map<String, Object>> msgs = messages(f.get("conversations").get("ends_with_assistant"));
        for (String name : List.of("llama3_1", "gemma3", "llama3_1_tools")) {
            Map<String, Object> specials = JSON.convertValue(f.get("special_tokens").get(name), new TypeReference<LinkedHashMap<String, Object>>() {});
            ChatTemplate t = new ChatTemplate(f.get("templates").get(name).asText(), specials);
            ChatTemplate.Rendered r = t.renderWithSpans(msgs, false, Map.of());
            assertEquals(t.render(msgs, false), r.text());
            assertEquals(List.of(1, 3), r.assistantSpans().stream().map(ChatTemplate.Span::messageIndex).toList(), name);
            for (ChatTemplate.Span s : r.assistantSpans()) {
                String span = r.text().substring(s.start(), s.end());
                String reply = (String) msgs.get(s.messageIndex()).get("content");
                assertTrue(span.startsWith(reply), name + ": span '" + span + "' starts with the reply");
                String endOfTurn = span.substring(reply.length());
                assertTrue(endOfTurn.equals("<|eot_id|>") || endOfTurn.equals("<end_of_turn>\n"), name + ": then the end of turn: '" + endOfTurn + "'");
                // the text before the span is the prompt with the generation prompt
                assertEquals(t.render(msgs.subList(0, s.messageIndex()), true), r.text().substring(0, s.start()));
            }
        }
    }

    @Test
    void raiseExceptionAndTemplateErrorsAreUserErrors() {
        ChatTemplate t = new ChatTemplate("{{ raise_exception('no system role here') }}", Map.of());
        TokenizerException e = assertThrows(TokenizerException.class, () -> t.render(List.of(), false));
        assertTrue(e.getMessage().contains("no system role here"), e.getMessage());
        ChatTemplate broken = new ChatTemplate("{% for m in messages %}{{ m.role }", Map.of());
        assertThrows(TokenizerException.class, () -> broken.render(List.of(ChatTemplate.message("user", "x")), false));
    }

    @Test
    void strftimeFollowsPython() {
        ZonedDateTime t = ZonedDateTime.of(2024, 7, 6, 15, 4, 5, 0, ZoneOffset.UTC);
        // Python: datetime(2024, 7, 6, 15, 4, 5).strftime("%d %b %Y %A %B %H:%M:%S %I%p %j %y %m")
        assertEquals("06 Jul 2024 Saturday July 15:04:05 03PM 188 24 07",
                TemplateFunctions.strftime(t, "%d %b %Y %A %B %H:%M:%S %I%p %j %y %m"));
    }
}
