package org.cce4j.core.cpu;

/**
 * Picks the kernels once per JVM: the Vector API ones when the {@code jdk.incubator.vector} module
 * is in the boot layer (and the system property {@code cce4j.simd} is not {@code false}), the
 * scalar ones otherwise. {@link VectorKernels} is only named through reflection, so a JVM without
 * the module never tries to load it. A bad {@code cce4j.vectorBits} (the Vector API width, for
 * tests) is an error, not a silent fall back to the scalar kernels.
 */
public final class CpuKernelSelector {
    private static final CpuKernels BEST = choose();

    private CpuKernelSelector() {}

    /** The kernels this JVM should use. */
    public static CpuKernels best() {
        return BEST;
    }

    /** The scalar kernels, whatever the JVM supports (for tests and comparisons). */
    public static CpuKernels scalar() {
        return new ScalarKernels();
    }

    /** True when the Vector API module is present. */
    public static boolean simdAvailable() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    private static CpuKernels choose() {
        if (!simdAvailable() || "false".equalsIgnoreCase(System.getProperty("cce4j.simd"))) {
            return new ScalarKernels();
        }
        try {
            return (CpuKernels) Class.forName("org.cce4j.core.cpu.VectorKernels").getDeclaredConstructor().newInstance();
        } catch (ExceptionInInitializerError e) {
            if (e.getCause() instanceof IllegalArgumentException bad) throw bad;
            return new ScalarKernels();
        } catch (ReflectiveOperationException | LinkageError e) {
            return new ScalarKernels();
        }
    }
}
