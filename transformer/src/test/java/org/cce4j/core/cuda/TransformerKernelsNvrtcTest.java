package org.cce4j.core.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles the transformer's kernels through NVRTC exactly as the GPU backend does at run time
 * (KernelCompiler, hence this package), which needs only libnvrtc, no GPU. nvcc accepts some code that
 * NVRTC rejects in JIT mode (generic lambdas in device code, for one), so this is the check that
 * matters; TransformerKernelsCompileTest still covers machines with nvcc but no NVRTC. Skipped where
 * libnvrtc cannot be loaded (set CCE4J_CUDA_LIBS to a folder holding libnvrtc.so.13, e.g. from the
 * nvidia-cuda-nvrtc wheel).
 */
class TransformerKernelsNvrtcTest {
    private static final String DIR = "/org/cce4j/transformer/cuda/";

    @Test
    void everyKernelCompilesWithNvrtc() {
        try {
            Nvrtc.get();
        } catch (CudaException | LinkageError e) {
            assumeTrue(false, "NVRTC is not loadable here: " + e.getMessage());
        }
        List<String> failures = new ArrayList<>();
        for (String arch : List.of("sm_80", "sm_90a")) {
            for (String file : List.of("norm.cu", "elementwise.cu", "attention_simt.cu", "optimizer.cu")) {
                for (int elem = 0; elem <= 1; elem++) compile(file, List.of("CCE_ELEM=" + elem), arch, failures);
            }
            for (int hd : new int[] {16, 64, 128, 256}) compile("attention_mma.cu", List.of("CCE_ELEM=1", "HD=" + hd), arch, failures);
            for (int hd : new int[] {16, 64, 96, 128}) {
                compile("attention_bwd_fused.cu", List.of("CCE_ELEM=1", "HD=" + hd, "MIN_CTAS=" + (hd <= 64 ? 3 : 1)), arch, failures);
            }
            for (int hd : new int[] {192, 256}) compile("attention_bwd_fused_wide.cu", List.of("CCE_ELEM=1", "HD=" + hd), arch, failures);
            compile("attention_mma.cu", List.of("CCE_ELEM=1", "HD=256", "STAGES=2"), arch, failures);
            for (int hd : new int[] {64, 128, 256}) compile("attention_fwd_wgmma.cu", List.of("CCE_ELEM=1", "HD=" + hd), arch, failures);
        }
        assertEquals(List.of(), failures, "NVRTC failures");
    }

    private void compile(String file, List<String> defines, String arch, List<String> failures) {
        try {
            byte[] cubin = KernelCompiler.cubin(TransformerKernelsNvrtcTest.class, DIR, file, defines, arch);
            assertTrue(cubin.length > 0, file + " " + defines + " " + arch + ": empty cubin");
        } catch (CudaException e) {
            failures.add(file + " " + defines + " " + arch + ": " + e.getMessage());
        }
    }
}
