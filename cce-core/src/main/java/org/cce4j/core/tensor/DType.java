package org.cce4j.core.tensor;

import java.util.Locale;

/**
 * Element types. The constant names are exactly the dtype strings of the safetensors format, so
 * that files and tensors speak one vocabulary; {@link #parse} also accepts the usual short names
 * (f32, bf16, int64 ...). Compute happens in F32 (CPU) or BF16/F16/F32 (CUDA); the other types are
 * storage formats that {@link Tensor#to} converts from.
 */
public enum DType {
    F64(8, Kind.FLOAT),
    F32(4, Kind.FLOAT),
    F16(2, Kind.FLOAT),
    BF16(2, Kind.FLOAT),
    F8_E4M3(1, Kind.FLOAT),
    F8_E5M2(1, Kind.FLOAT),
    I64(8, Kind.SIGNED),
    I32(4, Kind.SIGNED),
    I16(2, Kind.SIGNED),
    I8(1, Kind.SIGNED),
    U64(8, Kind.UNSIGNED),
    U32(4, Kind.UNSIGNED),
    U16(2, Kind.UNSIGNED),
    U8(1, Kind.UNSIGNED),
    BOOL(1, Kind.BOOL);

    /** How the bits of an element are read. */
    public enum Kind { FLOAT, SIGNED, UNSIGNED, BOOL }

    private final int byteSize;
    private final Kind kind;

    DType(int byteSize, Kind kind) {
        this.byteSize = byteSize;
        this.kind = kind;
    }

    public int byteSize() {
        return byteSize;
    }

    public Kind kind() {
        return kind;
    }

    public boolean isFloatingPoint() {
        return kind == Kind.FLOAT;
    }

    public boolean isInteger() {
        return kind == Kind.SIGNED || kind == Kind.UNSIGNED;
    }

    /** The smallest x with 1 + x != 1 in this format (the unit round-off times two). */
    public double epsilon() {
        return switch (this) {
            case F64 -> Math.ulp(1.0);
            case F32 -> Math.ulp(1.0f);
            case F16 -> 0x1p-10;
            case BF16 -> 0x1p-7;
            case F8_E4M3 -> 0x1p-3;
            case F8_E5M2 -> 0x1p-2;
            default -> throw new IllegalStateException(this + " is not a floating-point type");
        };
    }

    /** A dtype from its safetensors name or a common alias, case-insensitive; null if unknown. */
    public static DType parseOrNull(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "f64", "float64", "double" -> F64;
            case "f32", "float32", "float", "fp32" -> F32;
            case "f16", "float16", "half", "fp16" -> F16;
            case "bf16", "bfloat16" -> BF16;
            case "f8_e4m3", "float8_e4m3fn", "e4m3" -> F8_E4M3;
            case "f8_e5m2", "float8_e5m2", "e5m2" -> F8_E5M2;
            case "i64", "int64", "long" -> I64;
            case "i32", "int32", "int" -> I32;
            case "i16", "int16", "short" -> I16;
            case "i8", "int8" -> I8;
            case "u64", "uint64" -> U64;
            case "u32", "uint32" -> U32;
            case "u16", "uint16" -> U16;
            case "u8", "uint8" -> U8;
            case "bool" -> BOOL;
            default -> null;
        };
    }

    /** Like {@link #parseOrNull} but throws {@link IllegalArgumentException} naming the accepted values. */
    public static DType parse(String name) {
        DType t = parseOrNull(name);
        if (t == null) {
            throw new IllegalArgumentException("unknown dtype '" + name + "' (expected one of f32, bf16, f16, f64, i64, i32, ...)");
        }
        return t;
    }

    /** The short lower-case name used on the command line (f32, bf16, i64 ...). */
    public String shortName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
