package org.cce4j.core.cuda;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.device.DeviceChoice;
import org.cce4j.core.device.Devices;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device choice with and without a GPU: both branches are checked against what the machine has. */
class DeviceSelectionTest {

    @Test
    void defaultIsCudaWhenUsableElseCpuWithTheReason() {
        String unusable = GpuAvailability.unusableReason();
        DeviceChoice c = Devices.choose(null);
        if (unusable == null) {
            assertEquals(new Device.Cuda(0), c.device());
            assertTrue(c.reason().contains("usable"), c.reason());
        } else {
            assertEquals(Device.CPU, c.device());
            assertTrue(c.reason().startsWith("no usable CUDA device: "), c.reason());
            assertTrue(c.reason().length() > "no usable CUDA device: ".length() + 5, c.reason());
        }
    }

    @Test
    void anExplicitDeviceIsTakenAsAsked() {
        assertEquals(new Device.Cuda(3), Devices.choose("cuda:3").device());
        assertEquals(Device.CPU, Devices.choose("cpu").device());
        assertEquals(new Device.Cuda(0), Devices.choose("cuda").device());
    }

    @Test
    void anUnusableCudaDeviceIsAUserError() {
        Device absent = GpuAvailability.unusableReason() == null ? new Device.Cuda(99) : new Device.Cuda(0);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> LinearCrossEntropy.create(CceImpl.CCE, absent));
        assertTrue(e.getMessage().contains("not usable"), e.getMessage());
    }
}
