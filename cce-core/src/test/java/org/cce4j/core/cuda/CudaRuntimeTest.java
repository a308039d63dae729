package org.cce4j.core.cuda;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The FFM runtime on a real device: transfers of every dtype, the allocator's counts, error names, NVRTC. */
@Tag("gpu")
class CudaRuntimeTest {

    @Test
    void everyDtypeSurvivesARoundTrip() {
        CudaDevice dev = GpuAvailability.require();
        SplittableRandom rnd = new SplittableRandom(1);
        for (DType t : List.of(DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64)) {
            try (Tensor host = Tensor.zeros(t, 3, 1001)) {
                for (int i = 0; i < host.numel(); i++) {
                    if (t.isFloatingPoint()) host.setFloat(i, (float) rnd.nextGaussian());
                    else host.setLong(i, rnd.nextLong(-1_000_000, 1_000_000));
                }
                try (Tensor d = dev.upload(host); Tensor back = dev.download(d)) {
                    assertEquals(new Device.Cuda(0), d.device());
                    assertArrayEquals(host.shape(), back.shape());
                    assertArrayEquals(host.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                            back.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), t + " round trip");
                }
            }
        }
    }

    @Test
    void allocatorCountsBytesInUseAndPeak() {
        CudaDevice dev = GpuAvailability.require();
        DeviceAllocator a = dev.allocator();
        long before = a.bytesInUse();
        a.resetPeak();
        DeviceBuffer x = dev.buffer(10L << 20);
        DeviceBuffer y = dev.buffer(1000);
        assertEquals(before + (10L << 20) + 1024, a.bytesInUse());
        x.close();
        y.close();
        x.close(); // a second close is harmless
        assertEquals(before, a.bytesInUse());
        assertEquals(before + (10L << 20) + 1024, a.peakBytes());
        DeviceBuffer again = dev.buffer(10L << 20);
        assertEquals(x.pointer(), again.pointer(), "a freed block is reused from the cache");
        again.close();
    }

    @Test
    void errorsCarryTheirNames() {
        CudaDevice dev = GpuAvailability.require();
        org.cce4j.core.OutOfDeviceMemoryException oom = assertThrows(org.cce4j.core.OutOfDeviceMemoryException.class, () -> dev.buffer(1L << 50));
        assertTrue(oom.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), oom.getMessage());
        assertEquals(1L << 50, oom.asked());
        assertTrue(oom.total() >= oom.free() && oom.total() > 0, oom.getMessage());
        CudaUnavailableException missing = assertThrows(CudaUnavailableException.class, () -> CudaDevice.get(99));
        assertTrue(missing.getMessage().contains("99"), missing.getMessage());
        CudaException noKernel = assertThrows(CudaException.class,
                () -> dev.module("convert.cu", List.of()).kernel("no_such_kernel"));
        assertTrue(noKernel.getMessage().contains("CUDA_ERROR_NOT_FOUND"), noKernel.getMessage());
    }

    @Test
    void nvrtcCompilesAndConvertsOnTheDevice() {
        CudaDevice dev = GpuAvailability.require();
        float[] values = {1.5f, -2.25f, 3.0e-3f, 65504f, -0f};
        try (Tensor host = Tensor.zeros(DType.BF16, values.length)) {
            for (int i = 0; i < values.length; i++) host.setFloat(i, values[i]);
            try (Tensor d = dev.upload(host); DeviceBuffer out = dev.buffer(4L * values.length)) {
                dev.module("convert.cu", List.of()).kernel("bf16_to_f32").launch(1, 1, 32, 0, d.address(), out.pointer(), (long) values.length);
                float[] got = dev.downloadFloats(out.pointer(), values.length);
                for (int i = 0; i < values.length; i++) assertEquals(host.getFloat(i), got[i], 0f, "element " + i);
            }
        }
    }
}
