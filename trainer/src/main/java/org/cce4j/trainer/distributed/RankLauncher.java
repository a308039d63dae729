package org.cce4j.trainer.distributed;

import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code train --gpus N}: N processes on this node, one per GPU, each a JVM of this one's class path and
 * options running the same {@code train} command with torchrun's variables set (RANK = LOCAL_RANK = k,
 * WORLD_SIZE = LOCAL_WORLD_SIZE = N, MASTER_ADDR = 127.0.0.1, a free MASTER_PORT) and {@code --device
 * cuda:k} where a CUDA device was asked for, supervised by {@link RankSupervisor}.
 * <p>
 * One process per GPU rather than one thread per GPU in this JVM: it is what torchrun and SLURM launch
 * (so one code path serves a laptop, a node and a cluster), each rank owns its CUDA context, allocator
 * and host memory as it does alone, a crash or an out-of-memory of one rank is isolated and reported
 * as that rank's, and the CPU backend's fork-join pool and host block cache stay per process. The
 * cost is N JVM starts and N model loads, seconds next to a training run.
 */
public final class RankLauncher {
    private RankLauncher() {}

    /** Variables that say this process is a rank already (launched by torchrun, srun, or --gpus). */
    static final List<String> RANK_VARIABLES = List.of("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_PROCID");

    /**
     * Runs {@code train} (its arguments {@code trainArgs}, those after "train", --gpus among them) on
     * {@code gpus} ranks and returns the job's exit status.
     */
    public static int launch(int gpus, List<String> trainArgs, Map<String, String> env, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        for (String v : RANK_VARIABLES) {
            if (env.containsKey(v) && !(v.equals("SLURM_PROCID") && !env.containsKey("SLURM_NTASKS"))) {
                throw new InvalidInputException("--gpus " + gpus + ": this process is a rank already (" + v + "=" + env.get(v)
                        + ", set by torchrun, srun or train --gpus); leave out --gpus where a launcher starts the ranks");
            }
        }
        int port = freePort();
        List<RankSupervisor.Child> children = new ArrayList<>();
        for (int k = 0; k < gpus; k++) {
            List<String> cmd = new ArrayList<>(jvmCommand());
            cmd.add("train");
            cmd.addAll(childArguments(trainArgs, k));
            children.add(new RankSupervisor.Child(cmd, rankVariables(gpus, k, port, ProcessHandle.current().pid())));
        }
        err.println("train: " + gpus + " ranks on this node (one process each), rendezvous at 127.0.0.1:" + port);
        err.flush();
        return RankSupervisor.run(children, out, err, RankLauncher::forwardSignals);
    }

    /** torchrun's variables for rank {@code k} of {@code gpus} on this node, and the launcher's pid ({@link LauncherWatch}). */
    static Map<String, String> rankVariables(int gpus, int k, int port, long launcherPid) {
        Map<String, String> vars = new LinkedHashMap<>();
        vars.put("WORLD_SIZE", Integer.toString(gpus));
        vars.put("RANK", Integer.toString(k));
        vars.put("LOCAL_RANK", Integer.toString(k));
        vars.put("LOCAL_WORLD_SIZE", Integer.toString(gpus));
        vars.put("MASTER_ADDR", "127.0.0.1");
        vars.put("MASTER_PORT", Integer.toString(port));
        vars.put(LauncherWatch.VARIABLE, Long.toString(launcherPid));
        return vars;
    }

    /**
     * The arguments of rank {@code k}: the parent's without {@code --gpus N}, and with {@code --device
     * cuda} or {@code cuda:N} replaced by {@code cuda:k} ({@code cpu} and no --device stay as they are:
     * the config's device then applies, and a rank resolves CUDA to its LOCAL_RANK itself).
     */
    static List<String> childArguments(List<String> args, int k) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--gpus")) {
                i++;
            } else if (a.startsWith("--gpus=")) {
                // dropped
            } else if (a.equals("--device") && i + 1 < args.size()) {
                out.add(a);
                out.add(rankDevice(args.get(++i), k));
            } else if (a.startsWith("--device=")) {
                out.add("--device=" + rankDevice(a.substring("--device=".length()), k));
            } else {
                out.add(a);
            }
        }
        return out;
    }

    private static String rankDevice(String d, int k) {
        return d.equals("cuda") || d.startsWith("cuda:") ? "cuda:" + k : d;
    }

    /** This JVM again: its java, its options (less a debugger agent, whose port the ranks would share), its class path, Main. */
    static List<String> jvmCommand() {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-javaagent")) cmd.add(a);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.cce4j.trainer.cli.Main");
        return cmd;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void forwardSignals(RankSupervisor s) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> s.forward(sig.getName()));
            } catch (IllegalArgumentException e) {
                // not available here (-Xrs, another platform): the ranks still get a terminal's signals
            }
        }
    }
}
