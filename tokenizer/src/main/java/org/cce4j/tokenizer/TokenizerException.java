package org.cce4j.tokenizer;

/**
 * A problem with the user's input: a tokenizer.json that is malformed or uses a component this
 * module does not implement, text that is not valid UTF-16, an id outside the vocabulary, a chat
 * template that raises. The message is one line naming the file, component or rule. The tokenizer
 * module depends on nothing of ours, so it has its own exception type; the command line maps it to
 * exit status 2 like {@code org.cce4j.core.InvalidInputException}.
 */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
