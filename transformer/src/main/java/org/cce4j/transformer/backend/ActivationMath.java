package org.cce4j.transformer.backend;


/**
 * The MLP activations and their derivatives, as transformers defines them (ACT2FN), in double
 * for the CPU reference. Java has no erf, so the exact GELU uses W. J. Cody's rational
 * approximations (relative error below 1e-15).
 */
public final class ActivationMath {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_C = 0.044715;

    private ActivationMath() {}

    public static double apply(Activation act, double x) {
        return switch (act) {
            case SILU -> x / (1 + Math.exp(-x));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case RELU -> Math.max(0, x);
        };
    }

    public static double derivative(Activation act, double x) {
        return switch (act) {
            case SILU -> {
                double s = 1 / (1 + Math.exp(-x));
                yield s * (1 + x * (1 - s));
            }
            case GELU_TANH -> {
                double t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
            }
            case GELU -> 0.5 * (1 + erf(x / Math.sqrt(2))) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            case RELU -> x > 0 ? 1 : 0;
        };
    }

    /** The error function (Cody 1969): |relative error| < 1e-15 over the reals. */
    public static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 0.5) {
            double t = x * x;
            double num = (((1.85777706184603153e-1 * t + 3.16112374387056560e0) * t + 1.13864154151050156e2) * t
                    + 3.77485237685302021e2) * t + 3.20937758913846947e3;
            double den = (((t + 2.36012909523441209e1) * t + 2.44024637934444173e2) * t + 1.28261652607737228e3) * t
                    + 2.84423683343917062e3;
            return x * num / den;
        } else if (ax < 4.0) {
            double num = (((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594e0) * ax
                    + 6.61191906371416295e1) * ax + 2.98635138197400131e2) * ax + 8.81952221241769090e2) * ax
                    + 1.71204761263407058e3) * ax + 2.05107837782607147e3) * ax + 1.23033935479799725e3;
            double den = (((((((ax + 1.57449261107098347e1) * ax + 1.17693950891312499e2) * ax + 5.37181101862009858e2) * ax
                    + 1.62138957456669019e3) * ax + 3.29079923573345963e3) * ax + 4.36261909014324716e3) * ax
                    + 3.43936767414372164e3) * ax + 1.23033935480374942e3;
            r = Math.exp(-ax * ax) * num / den;
        } else {
            double z = 1 / (ax * ax);
            double num = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z
                    + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
            double den = ((((z + 2.56852019228982242e0) * z + 1.87295284992346725e0) * z + 5.27905102951428412e-1) * z
                    + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
            r = Math.exp(-ax * ax) / ax * (0.5641895835477563 - z * num / den);
        }
        return x >= 0 ? 1 - r : r - 1;
    }
}
