package org.cce4j.trainer.compare;

import org.cce4j.core.InvalidInputException;

import java.util.List;
import java.util.Map;

/**
 * A loss variant a comparison trains with, by name, as config overrides: the three implementations
 * (cce, cce-exact, baseline) and the CCE paper's named configurations built from cce's switches.
 */
public record Variant(String name, List<String> overrides) {
    private static final Map<String, List<String>> KNOWN = Map.of(
            "cce", List.of("loss.impl=cce"),
            "cce-exact", List.of("loss.impl=cce-exact"),
            "baseline", List.of("loss.impl=baseline"),
            // the paper's CCE-Kahan-FullC: the classifier's gradient unfiltered (we accumulate in f32 already)
            "cce-full-c", List.of("loss.impl=cce", "loss.filter_c_grad=false"));

    public static Variant of(String name) {
        List<String> o = KNOWN.get(name.trim());
        if (o == null) {
            throw new InvalidInputException("--impls: unknown variant '" + name + "' (known: baseline, cce, cce-exact, cce-full-c)");
        }
        return new Variant(name.trim(), o);
    }

    /** The run folder of this variant and seed inside a comparison's output. */
    public String runName(long seed) {
        return name + "-seed" + seed;
    }
}
