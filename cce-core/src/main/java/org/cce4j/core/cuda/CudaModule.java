package org.cce4j.core.cuda;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/** A loaded cubin and its kernels, looked up once by name. */
public final class CudaModule {
    private final CudaDevice device;
    private final MemorySegment module;
    private final String name;
    private final ConcurrentHashMap<String, CudaKernel> kernels = new ConcurrentHashMap<>();

    CudaModule(CudaDevice device, MemorySegment module, String name) {
        this.device = device;
        this.module = module;
        this.name = name;
    }

    public CudaKernel kernel(String kernelName) {
        return kernels.computeIfAbsent(kernelName, k -> new CudaKernel(device,
                device.driver().moduleFunction(module, k), name + ":" + k));
    }

    public String name() {
        return name;
    }
}
