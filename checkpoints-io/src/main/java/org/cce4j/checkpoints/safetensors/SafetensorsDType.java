package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.tensor.DType;

/**
 * Every element type the safetensors format defines (safetensors 0.8), by its exact name in the
 * header. Most map onto a compute {@link DType}; the microscaling and complex ones (F4, F6_*,
 * F8_E8M0, the FNUZ fp8 variants, C64) have no DType and are read and written as raw bytes.
 * <p>
 * The constants are in the order of the reference implementation's {@code Dtype} enum, which is
 * increasing alignment: its writer lays tensors out by descending order, then by name, and so
 * does ours, so that both write the same bytes for the same tensors.
 * Sizes are in bits because F4 (4) and F6 (6) are smaller than a byte: a tensor of them must hold
 * a whole number of bytes.
 */
public enum SafetensorsDType {
    BOOL(8, DType.BOOL),
    F4(4, null),
    F6_E2M3(6, null),
    F6_E3M2(6, null),
    U8(8, DType.U8),
    I8(8, DType.I8),
    F8_E5M2(8, DType.F8_E5M2),
    F8_E4M3(8, DType.F8_E4M3),
    F8_E8M0(8, null),
    F8_E4M3FNUZ(8, null),
    F8_E5M2FNUZ(8, null),
    I16(16, DType.I16),
    U16(16, DType.U16),
    F16(16, DType.F16),
    BF16(16, DType.BF16),
    I32(32, DType.I32),
    U32(32, DType.U32),
    F32(32, DType.F32),
    C64(64, null),
    F64(64, DType.F64),
    I64(64, DType.I64),
    U64(64, DType.U64);

    private final int bits;
    private final DType dtype;

    SafetensorsDType(int bits, DType dtype) {
        this.bits = bits;
        this.dtype = dtype;
    }

    /** Bits per element: 4, 6, 8, 16, 32 or 64. */
    public int bits() {
        return bits;
    }

    /** The compute dtype these bytes are, or null when cce4j has none (raw bytes only). */
    public DType dtype() {
        return dtype;
    }

    public boolean hasDType() {
        return dtype != null;
    }

    /** The safetensors dtype of a compute dtype (DType's constant names are the safetensors names). */
    public static SafetensorsDType of(DType dtype) {
        return valueOf(dtype.name());
    }

    /** The dtype of this exact (case-sensitive) header name, or null. */
    public static SafetensorsDType fromHeaderName(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }

    /**
     * Bytes that {@code numel} elements occupy, or -1 when that is not a whole number of bytes;
     * throws {@link ArithmeticException} on overflow.
     */
    public long byteCount(long numel) {
        long totalBits = Math.multiplyExact(numel, (long) bits);
        return totalBits % 8 == 0 ? totalBits / 8 : -1;
    }
}
