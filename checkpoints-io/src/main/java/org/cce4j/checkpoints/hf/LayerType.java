package org.cce4j.checkpoints.hf;

/** What a decoder layer's attention sees: every earlier token, or only the last sliding_window ones. */
public enum LayerType {
    FULL_ATTENTION("full_attention"),
    SLIDING_ATTENTION("sliding_attention");

    private final String hfName;

    LayerType(String hfName) {
        this.hfName = hfName;
    }

    /** The name in config.json's {@code layer_types} and in 5.x {@code rope_parameters}. */
    public String hfName() {
        return hfName;
    }

    public static LayerType ofHfName(String name) {
        for (LayerType t : values()) {
            if (t.hfName.equals(name)) return t;
        }
        return null;
    }
}
