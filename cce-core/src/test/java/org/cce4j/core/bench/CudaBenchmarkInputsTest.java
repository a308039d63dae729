package org.cce4j.core.bench;

import org.cce4j.core.cuda.GpuAvailability;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On a GPU, the benchmark's inputs are the CPU's: the trained inputs drawn on the host and uploaded have the
 * same statistics as on the CPU and the same loss within bf16 accumulation noise, the targets stay on the host
 * (as the paper's inputs keep them); the paper's inputs drawn on the device measure as nearly one-hot.
 * Skipped where no CUDA device is usable.
 */
@Tag("gpu")
class CudaBenchmarkInputsTest {
    @Test
    void trainedInputsOnTheGpuAreTheCpusAndPaperOnesMeasure() {
        GpuAvailability.require();
        Device cuda = new Device.Cuda(0);
        CceOptions o = CceOptions.defaults();
        try (BenchmarkInputs gpu = LossBenchmarks.prepare(cuda, InputKind.TRAINED, 256, 256, 8192, DType.BF16, 0);
             BenchmarkInputs cpu = LossBenchmarks.prepare(Device.CPU, InputKind.TRAINED, 256, 256, 8192, DType.BF16, 0)) {
            assertEquals(cpu.statistics(), gpu.statistics());
            assertTrue(gpu.inputs().targets().device().isCpu(), "targets on the host");
            assertTrue(!gpu.inputs().embeddings().device().isCpu() && !gpu.inputs().classifier().device().isCpu());
            LossBenchmarkResult g = LossBenchmarks.run(CceImpl.CCE, gpu, o, 2);
            LossBenchmarkResult c = LossBenchmarks.run(CceImpl.CCE, cpu, o, 2);
            assertEquals(c.loss(), g.loss(), 1e-3 * Math.abs(c.loss()));
        }
        try (BenchmarkInputs paper = LossBenchmarks.prepare(cuda, InputKind.PAPER, 256, 256, 8192, DType.BF16, 0)) {
            assertTrue(paper.statistics().meanTop1() > 0.99, paper.statistics().toText());
            assertTrue(paper.statistics().targetIsArgmax() < 0.05, paper.statistics().toText());
        }
    }
}
