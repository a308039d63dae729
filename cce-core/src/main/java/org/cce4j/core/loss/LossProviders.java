package org.cce4j.core.loss;

import org.cce4j.core.tensor.Device;

import java.util.List;
import java.util.ServiceLoader;

/** The {@link LossProvider}s on the class path, loaded once. */
final class LossProviders {
    private static final List<LossProvider> ALL = ServiceLoader.load(LossProvider.class, LossProviders.class.getClassLoader())
            .stream().map(ServiceLoader.Provider::get).toList();

    private LossProviders() {}

    static LossProvider forDevice(Device device) {
        for (LossProvider p : ALL) {
            if (p.supports(device)) return p;
        }
        throw new IllegalStateException("no loss implementation for " + device + " on the class path (META-INF/services/"
                + LossProvider.class.getName() + ")");
    }
}
