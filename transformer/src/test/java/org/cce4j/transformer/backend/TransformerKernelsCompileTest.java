package org.cce4j.transformer.backend;

import org.cce4j.core.testing.Nvcc;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles the transformer's kernel sources with nvcc as NVRTC will at run time (each storage type,
 * the tensor-core attention for several head sizes, Ampere and Hopper), so that a syntax error fails
 * the build on machines without a GPU. Skipped where nvcc is not on the PATH.
 */
class TransformerKernelsCompileTest {

    private record Job(String file, String arch, List<String> defines) {}

    private static List<Job> jobs() {
        List<Job> jobs = new ArrayList<>();
        for (String arch : List.of("80", "90a")) {
            for (String file : List.of("norm.cu", "elementwise.cu", "attention_simt.cu", "optimizer.cu")) {
                for (int elem = 0; elem <= 1; elem++) jobs.add(new Job(file, arch, List.of("CCE_ELEM=" + elem)));
            }
        }
        // the one-pass RMSNorm backward with the vectors per lane CudaBackend passes (1 to 12)
        for (int vpl : new int[] {1, 9, 12}) {
            for (int elem = 0; elem <= 1; elem++) jobs.add(new Job("norm_bwd_fused.cu", "90a", List.of("CCE_ELEM=" + elem, "NORM_VPL=" + vpl)));
        }
        jobs.add(new Job("norm_bwd_fused.cu", "80", List.of("CCE_ELEM=1", "NORM_VPL=8")));
        for (int hd : new int[] {16, 64, 256}) jobs.add(new Job("attention_mma.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd)));
        jobs.add(new Job("attention_mma.cu", "80", List.of("CCE_ELEM=1", "HD=128")));
        // the fused backward with the defines CudaAttention passes: HD up to 128, MIN_CTAS 3 up to HD 64
        for (int hd : new int[] {16, 64, 96, 128}) {
            jobs.add(new Job("attention_bwd_fused.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd, "MIN_CTAS=" + (hd <= 64 ? 3 : 1))));
        }
        jobs.add(new Job("attention_bwd_fused.cu", "80", List.of("CCE_ELEM=1", "HD=64", "MIN_CTAS=1")));
        // above 128: the wide fused backward (multiples of 32) and the double-buffered module of the 8-warp forward
        for (int hd : new int[] {160, 192, 256}) jobs.add(new Job("attention_bwd_fused_wide.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd)));
        jobs.add(new Job("attention_bwd_fused_wide.cu", "80", List.of("CCE_ELEM=1", "HD=256")));
        jobs.add(new Job("attention_mma.cu", "90a", List.of("CCE_ELEM=1", "HD=256", "STAGES=2")));
        // the wgmma forward (its body is for sm_90a; elsewhere it compiles to an empty kernel the host never picks)
        for (int hd : new int[] {64, 128, 256}) jobs.add(new Job("attention_fwd_wgmma.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd)));
        jobs.add(new Job("attention_fwd_wgmma.cu", "80", List.of("CCE_ELEM=1", "HD=64")));
        // CCE4J_ATTN_STAGES=3|4 up to head size 128
        for (int st : new int[] {3, 4}) {
            jobs.add(new Job("attention_mma.cu", "90a", List.of("CCE_ELEM=1", "HD=128", "STAGES=" + st)));
            jobs.add(new Job("attention_bwd_fused.cu", "90a", List.of("CCE_ELEM=1", "HD=64", "MIN_CTAS=2", "STAGES=" + st)));
        }
        // the paired forward with the defines CudaAttention passes: HD up to 64, steps of 32 or 64 keys
        for (int hd : new int[] {16, 32, 48, 64}) {
            for (int keys : new int[] {32, 64}) {
                jobs.add(new Job("attention_fwd_pair.cu", "90a", List.of("CCE_ELEM=1", "HD=" + hd, "PAIR_KEYS=" + keys)));
            }
        }
        jobs.add(new Job("attention_fwd_pair.cu", "80", List.of("CCE_ELEM=1", "HD=64", "PAIR_KEYS=32")));
        return jobs;
    }

    @Test
    void everyKernelCompilesWithNvcc() throws Exception {
        Path nvcc = Nvcc.find();
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the kernel sources are not compiled by this test");
        Path ours = dir(CudaKernels.DIR + "tx_common.cuh", "src/main/resources/org/cce4j/transformer/cuda");
        Path core = dir("/org/cce4j/core/cuda/kernels/cce_common.cuh", "../cce-core/src/main/resources/org/cce4j/core/cuda/kernels");
        List<Nvcc.Job> jobs = new ArrayList<>();
        for (Job j : jobs()) {
            List<String> options = new ArrayList<>(List.of("-gencode=arch=compute_" + j.arch() + ",code=sm_" + j.arch(),
                    "-Werror", "all-warnings", "-I", ours.toString(), "-I", core.toString()));
            for (String d : j.defines()) options.add("-D" + d);
            jobs.add(new Nvcc.Job(options, ours.resolve(j.file())));
        }
        Nvcc.assertAllCompile(nvcc, jobs);
    }

    /** The folder holding a resource, or the checkout's copy when the resource is inside a jar. */
    private static Path dir(String resource, String fallback) throws URISyntaxException {
        URL url = TransformerKernelsCompileTest.class.getResource(resource);
        if (url == null || !"file".equals(url.getProtocol())) return Path.of(fallback).toAbsolutePath();
        return Path.of(url.toURI()).getParent();
    }
}
