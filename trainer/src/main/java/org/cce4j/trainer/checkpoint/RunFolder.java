package org.cce4j.trainer.checkpoint;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A run's folder and the one rule that keeps it whole: a checkpoint (or final/) is written into a
 * hidden temporary folder beside its final name and renamed into place when every file in it is on
 * disk, so a kill at any moment leaves the previous checkpoints whole and the newest complete one is
 * simply the highest {@code step-N}.
 * <pre>
 *   config.yaml        the resolved config
 *   metrics.jsonl      one line per step and per evaluation
 *   loss.png           rewritten at each checkpoint
 *   checkpoints/step-N/    the model (HF folder, or PEFT adapter) + training_state.safetensors
 *   final/             the model at the end
 * </pre>
 */
public final class RunFolder {
    public static final String CONFIG = "config.yaml", METRICS = "metrics.jsonl", PLOT = "loss.png";
    public static final String CHECKPOINTS = "checkpoints", FINAL = "final", STATE = "training_state.safetensors";
    private static final Pattern STEP = Pattern.compile("step-(\\d+)");

    private final Path root;

    private RunFolder(Path root) {
        this.root = root;
    }

    /**
     * The paths of the run folder at {@code root}, for a rank of a data-parallel job that only reads it
     * (rank 0 prepares and writes it): nothing is checked or created, since on a node without a shared
     * filesystem the folder may not be there at all.
     */
    public static RunFolder at(Path root) {
        return new RunFolder(root);
    }

    /**
     * The folder for a new run ({@code resume} false) or for continuing one. A folder that already holds
     * a run is refused unless resuming or {@code overwrite} (which removes the run's files first); a
     * folder holding anything else is refused too, so nothing of the user's is ever deleted.
     */
    public static RunFolder prepare(Path root, boolean resume, boolean overwrite) {
        boolean exists = Files.isDirectory(root);
        if (Files.exists(root) && !exists) throw new InvalidInputException("output " + root + " is a file, not a folder");
        if (resume) {
            if (!exists || !Files.isRegularFile(root.resolve(CONFIG))) {
                throw new InvalidInputException("--resume " + root + ": not a run folder (no " + CONFIG + ")");
            }
            return new RunFolder(root);
        }
        if (exists) {
            List<String> entries = list(root);
            boolean run = entries.contains(CONFIG) || entries.contains(METRICS) || entries.contains(CHECKPOINTS) || entries.contains(FINAL);
            if (run && !overwrite) {
                throw new InvalidInputException("output " + root + " holds a run already: --resume " + root + " continues it, --overwrite starts it over");
            }
            List<String> foreign = entries.stream().filter(e -> !isRunEntry(e)).toList();
            if (!foreign.isEmpty()) {
                throw new InvalidInputException("output " + root + " holds files that are not a run's (" + String.join(", ", foreign.subList(0, Math.min(3, foreign.size())))
                        + (foreign.size() > 3 ? ", ..." : "") + "): choose an empty or new folder");
            }
            for (String e : entries) deleteTree(root.resolve(e));
        }
        try {
            Files.createDirectories(root.resolve(CHECKPOINTS));
        } catch (IOException e) {
            throw new InvalidInputException("output " + root + ": cannot be created (" + e.getMessage() + ")");
        }
        return new RunFolder(root);
    }

    private static boolean isRunEntry(String name) {
        return name.equals(CONFIG) || name.equals(METRICS) || name.equals(PLOT) || name.equals(CHECKPOINTS) || name.equals(FINAL)
                || name.startsWith(".");
    }

    public Path root() {
        return root;
    }

    public Path config() {
        return root.resolve(CONFIG);
    }

    public Path metrics() {
        return root.resolve(METRICS);
    }

    public Path plot() {
        return root.resolve(PLOT);
    }

    public Path checkpoint(long step) {
        return root.resolve(CHECKPOINTS).resolve("step-" + step);
    }

    public Path finalModel() {
        return root.resolve(FINAL);
    }

    /** The steps of the whole checkpoints, ascending (a folder without its training state is not one). */
    public List<Long> checkpointSteps() {
        List<Long> steps = new ArrayList<>();
        Path dir = root.resolve(CHECKPOINTS);
        if (!Files.isDirectory(dir)) return steps;
        for (String name : list(dir)) {
            Matcher m = STEP.matcher(name);
            if (m.matches() && Files.isRegularFile(dir.resolve(name).resolve(STATE))) steps.add(Long.parseLong(m.group(1)));
        }
        steps.sort(Comparator.naturalOrder());
        return steps;
    }

    public Optional<Long> newestCheckpoint() {
        List<Long> s = checkpointSteps();
        return s.isEmpty() ? Optional.empty() : Optional.of(s.get(s.size() - 1));
    }

    /** Writes a folder atomically: {@code body} fills a temporary folder, which then replaces {@code target}. */
    public static void writeFolder(Path target, FolderBody body) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        // createDirectory, not createTempDirectory: the folder gets the usual permissions (0777 less the umask), not 0700
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
        Files.createDirectory(tmp);
        boolean done = false;
        try {
            body.write(tmp);
            for (Path f : list(tmp).stream().map(tmp::resolve).toList()) forceFile(f);
            AtomicFiles.syncDirectory(tmp);
            Path old = null;
            if (Files.exists(target)) {
                old = parent.resolve("." + target.getFileName() + ".old-" + Long.toHexString(System.nanoTime()));
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
            done = true;
            AtomicFiles.syncDirectory(parent);
            if (old != null) deleteTree(old);
        } finally {
            if (!done) deleteTree(tmp);
        }
    }

    @FunctionalInterface
    public interface FolderBody {
        void write(Path folder) throws IOException;
    }

    /** Removes checkpoints beyond the newest {@code keep}, and temporary folders a killed run left. */
    public void prune(int keep) {
        List<Long> steps = checkpointSteps();
        for (int i = 0; i < steps.size() - keep; i++) deleteTree(checkpoint(steps.get(i)));
        removeLeftovers();
    }

    /** Deletes the hidden temporary folders of interrupted writes. */
    public void removeLeftovers() {
        for (Path dir : List.of(root, root.resolve(CHECKPOINTS))) {
            if (!Files.isDirectory(dir)) continue;
            for (String n : list(dir)) if (n.startsWith(".") && (n.contains(".tmp-") || n.contains(".old-"))) deleteTree(dir.resolve(n));
        }
    }

    private static void forceFile(Path f) throws IOException {
        if (!Files.isRegularFile(f)) return;
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException e) {
            throw new UncheckedIOException("removing " + p, e);
        }
    }
}
