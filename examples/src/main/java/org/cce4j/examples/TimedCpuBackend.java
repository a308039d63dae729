package org.cce4j.examples;

import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Wall time per operation of a CPU backend. A dynamic proxy rather than a hand-written delegate:
 * every method of {@link Backend}, present and future, is timed without a line per method, and the
 * CPU backend's operations return only when done, so no synchronization is needed. Linear layers are
 * keyed by their shape (in × out), since one name covers projections of very different cost.
 */
final class TimedCpuBackend {
    /** Accessors, not work. */
    private static final java.util.Set<String> UNTIMED = java.util.Set.of("device", "computeDType", "bytesInUse", "peakBytes", "resetPeak");
    private final Backend inner;
    private final Map<String, double[]> times = new TreeMap<>();   // wall ms, calls, process CPU ms

    TimedCpuBackend(Backend inner) {
        this.inner = inner;
    }

    /** The timing view of the backend. */
    Backend backend() {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("crossEntropy")) return timedLoss((LinearCrossEntropy) call(m, args));
            if (UNTIMED.contains(m.getName())) return call(m, args);
            long t0 = System.nanoTime(), c0 = processCpuNanos();
            Object r = call(m, args);
            add(key(m, args), t0, c0);
            return r;
        });
    }

    private Object call(Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(inner, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static String key(Method m, Object[] args) {
        String name = m.getName();
        if (name.startsWith("linear") && args != null && args.length >= 3) {
            Tensor x = (Tensor) args[name.equals("linearBackward") ? 1 : 0], w = (Tensor) args[name.equals("linearBackward") ? 2 : 1];
            return name + " " + x.dim(-1) + "x" + w.dim(0);
        }
        return name;
    }

    private void add(String op, long t0, long c0) {
        double[] t = times.computeIfAbsent(op, k -> new double[3]);
        t[0] += (System.nanoTime() - t0) / 1e6;
        t[1]++;
        t[2] += (processCpuNanos() - c0) / 1e6;
    }

    /** CPU time of the whole process (all threads), in nanoseconds. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private LinearCrossEntropy timedLoss(LinearCrossEntropy loss) {
        return new LinearCrossEntropy() {
            @Override
            public CceForward forward(CceInputs inputs, CceOptions options) {
                long t0 = System.nanoTime(), c0 = processCpuNanos();
                CceForward f = loss.forward(inputs, options);
                add("cce forward", t0, c0);
                return f;
            }

            @Override
            public CceGradients backward(CceForward forward, Tensor upstream, CceGradients into) {
                long t0 = System.nanoTime(), c0 = processCpuNanos();
                CceGradients g = loss.backward(forward, upstream, into);
                add("cce backward", t0, c0);
                return g;
            }
        };
    }

    /** JSON: the step's wall time and [wall ms, calls, CPU ms] per operation, largest CPU time first. */
    String report(double stepMs) {
        List<Map.Entry<String, double[]>> ops = new ArrayList<>(times.entrySet());
        ops.sort((x, y) -> Double.compare(y.getValue()[2], x.getValue()[2]));
        double sum = 0, cpu = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ops.size(); i++) {
            if (i > 0) sb.append(",\n  ");
            double[] t = ops.get(i).getValue();
            sum += t[0];
            cpu += t[2];
            sb.append(String.format(Locale.ROOT, "\"%s\":[%.1f,%d,%.1f]", ops.get(i).getKey(), t[0], (long) t[1], t[2]));
        }
        return String.format(Locale.ROOT, "{\"profile_step_ms\":%.1f,\"ops_total_ms\":%.1f,\"ops_total_cpu_ms\":%.1f,"
                + "\"ops_ms_calls_cpu_ms\":{\n  %s}}", stepMs, sum, cpu, sb);
    }
}
