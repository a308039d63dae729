package org.cce4j.trainer.config;

import java.util.List;

/**
 * One key of the training config: its dotted path, its type, its default (null: no default — the key
 * is optional and means "absent", unless {@code required}) and the line of documentation that
 * docs/training.md shows. {@link ConfigSchema} lists them all; reading, defaults, the resolved
 * config.yaml and the documentation table all come from that one list.
 */
public record ConfigKey(String path, Type type, Object defaultValue, boolean required, List<String> choices, String doc) {

    public enum Type {
        STRING, PATH, INT, DOUBLE, BOOL, CHOICE, STRING_LIST, DOUBLE_PAIR,
        /** A section whose presence matters (lora: absent = full fine-tuning); its keys are the children. */
        OPTIONAL_SECTION;

        String describe() {
            return switch (this) {
                case STRING -> "a string";
                case PATH -> "a path";
                case INT -> "an integer";
                case DOUBLE -> "a number";
                case BOOL -> "true or false";
                case CHOICE -> "one of";
                case STRING_LIST -> "a list of strings";
                case DOUBLE_PAIR -> "a list of two numbers";
                case OPTIONAL_SECTION -> "a section";
            };
        }
    }

    public ConfigKey {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    public String name() {
        return path.substring(path.lastIndexOf('.') + 1);
    }

    /** The section path ("train" for "train.lr"), or "" at the top level. */
    public String section() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? "" : path.substring(0, dot);
    }
}
