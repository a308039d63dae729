package org.cce4j.tokenizer.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

/**
 * {@code {% generation %}...{% endgeneration %}}: the block transformers' chat templates use to
 * mark what the assistant generates (its {@code AssistantTracker} extension records the character
 * range each block renders, for {@code return_assistant_tokens_mask=True}). The body renders as it
 * would without the tag, in its own scope like Jinja's call blocks, between two Unicode
 * noncharacters that {@link ChatTemplate} removes after rendering, recording where they were: Jinjava
 * assembles a tag's output after the tag has run, so a tag cannot know its own offset in the text,
 * and markers carried through the output can.
 */
final class GenerationTag implements Tag {
    /** Opens a generation block in the raw output (U+FDD0, a noncharacter: never text of a message we accept). */
    static final char START = '\uFDD0';
    /** Closes a generation block in the raw output (U+FDD1). */
    static final char END = '\uFDD1';

    @Override
    public String getName() {
        return "generation";
    }

    @Override
    public String getEndTagName() {
        return "endgeneration";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        StringBuilder out = new StringBuilder().append(START);
        try (JinjavaInterpreter.InterpreterScopeClosable scope = interpreter.enterScope()) {
            for (Node child : tagNode.getChildren()) out.append(child.render(interpreter).getValue());
        }
        return out.append(END).toString();
    }
}
