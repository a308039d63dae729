package org.cce4j.trainer.cli;

import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import picocli.CommandLine.ITypeConverter;

/** picocli converters for our option values; their exceptions become one-line usage errors (exit 2). */
final class Converters {
    private Converters() {}

    static final class Impl implements ITypeConverter<CceImpl> {
        @Override
        public CceImpl convert(String value) {
            return CceImpl.parse(value);
        }
    }

    static final class ReductionConverter implements ITypeConverter<Reduction> {
        @Override
        public Reduction convert(String value) {
            return Reduction.parse(value);
        }
    }

    /** A count (tokens, sizes, threads, iterations): zero and negative numbers are refused when parsed. */
    static final class PositiveInt implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n;
            try {
                n = Integer.parseInt(value.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected a positive whole number, got '" + value + "'");
            }
            if (n <= 0) throw new IllegalArgumentException("must be positive, got " + n);
            return n;
        }
    }

    static final class DTypeConverter implements ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            return DType.parse(value);
        }
    }
}
