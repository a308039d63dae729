package org.cce4j.core.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the NVIDIA libraries by their versioned names and binds their functions.
 * <p>
 * A library is tried first by name alone (the dynamic loader's search: LD_LIBRARY_PATH, the ldconfig
 * cache), then in the usual CUDA folders ({@code $CCE4J_CUDA_LIBS}, {@code $CUDA_HOME}, /usr/local/cuda*)
 * and in the lib folders of the pip packages that PyTorch installs (nvidia/cu13/lib, nvidia/cublas/lib
 * ...), because on many machines the toolkit's libraries are present but not in the loader's cache.
 * Libraries live for the whole process (global arena): a driver binding is never unloaded.
 */
final class NativeLibraries {
    private NativeLibraries() {}

    static final Linker LINKER = Linker.nativeLinker();

    /** A loaded library and where it came from. */
    record Loaded(SymbolLookup lookup, String where) {
        MethodHandle bind(FunctionDescriptor fd, boolean critical, String... names) {
            return bindOptional(fd, critical, names).orElseThrow(() -> new CudaUnavailableException(
                    where + " has no function " + String.join(" / ", names)));
        }

        Optional<MethodHandle> bindOptional(FunctionDescriptor fd, boolean critical, String... names) {
            for (String name : names) {
                Optional<MemorySegment> sym = lookup.find(name);
                if (sym.isPresent()) {
                    return Optional.of(critical ? LINKER.downcallHandle(sym.get(), fd, Linker.Option.critical(false))
                            : LINKER.downcallHandle(sym.get(), fd));
                }
            }
            return Optional.empty();
        }
    }

    /**
     * Loads the first of {@code names} that can be found.
     * @param what a human name for the error message ("the CUDA driver", "NVRTC")
     * @param companions file-name prefixes loaded from the same folder first (NVRTC's builtins)
     */
    static Loaded load(String what, List<String> names, List<String> companions) {
        List<String> tried = new ArrayList<>();
        for (String name : names) {
            try {
                return new Loaded(SymbolLookup.libraryLookup(name, Arena.global()), name);
            } catch (IllegalArgumentException e) {
                tried.add(name);
            }
        }
        for (Path dir : searchFolders()) {
            for (String name : names) {
                Path p = dir.resolve(name);
                if (!Files.isRegularFile(p)) continue;
                try {
                    for (String companion : companions) preload(dir, companion);
                    return new Loaded(SymbolLookup.libraryLookup(p, Arena.global()), p.toString());
                } catch (IllegalArgumentException e) {
                    tried.add(p + " (" + e.getMessage() + ")");
                }
            }
        }
        throw new CudaUnavailableException(what + " not found: tried " + String.join(", ", names)
                + " on the loader path and in " + searchFolders().size() + " CUDA folders (set CCE4J_CUDA_LIBS to the folder that holds it)");
    }

    private static void preload(Path dir, String prefix) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, prefix + "*")) {
            for (Path p : ds) {
                try {
                    SymbolLookup.libraryLookup(p, Arena.global());
                    return;
                } catch (IllegalArgumentException ignored) {
                    // try the next match
                }
            }
        } catch (IOException ignored) {
            // no companion: the library may not need it
        }
    }

    private static volatile List<Path> folders;

    static List<Path> searchFolders() {
        List<Path> f = folders;
        if (f != null) return f;
        Set<Path> out = new LinkedHashSet<>();
        String env = System.getenv("CCE4J_CUDA_LIBS");
        if (env != null) for (String s : env.split(":")) if (!s.isBlank()) out.add(Path.of(s));
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = System.getenv(var);
            if (home != null && !home.isBlank()) {
                out.add(Path.of(home, "lib64"));
                out.add(Path.of(home, "lib"));
            }
        }
        out.add(Path.of("/usr/local/cuda/lib64"));
        out.add(Path.of("/usr/local/cuda/lib"));
        out.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        globInto(out, Path.of("/usr/local"), "cuda-*", "lib64", "lib", "targets/x86_64-linux/lib");
        out.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        out.add(Path.of("/usr/lib64"));
        out.add(Path.of("/usr/local/nvidia/lib64"));
        // pip wheels (PyTorch's CUDA runtime): <site-packages>/nvidia/{cu13,cublas,cuda_nvrtc,...}/lib
        for (Path root : List.of(Path.of("/opt/torch/.venv/lib"), Path.of("/usr/local/lib"), Path.of("/usr/lib"),
                Path.of(System.getProperty("user.home"), ".local/lib"))) {
            List<Path> sites = new ArrayList<>();
            globDirs(root, "python3*", sites);
            for (Path py : sites) {
                for (String site : List.of("site-packages", "dist-packages")) {
                    Path nv = py.resolve(site).resolve("nvidia");
                    List<Path> pkgs = new ArrayList<>();
                    globDirs(nv, "*", pkgs);
                    for (Path pkg : pkgs) out.add(pkg.resolve("lib"));
                }
            }
        }
        List<Path> existing = new ArrayList<>();
        for (Path p : out) if (Files.isDirectory(p)) existing.add(p);
        folders = List.copyOf(existing);
        return folders;
    }

    private static void globInto(Set<Path> out, Path parent, String glob, String... subs) {
        List<Path> dirs = new ArrayList<>();
        globDirs(parent, glob, dirs);
        for (Path d : dirs) for (String s : subs) out.add(d.resolve(s));
    }

    private static void globDirs(Path parent, String glob, List<Path> out) {
        if (!Files.isDirectory(parent)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, glob)) {
            for (Path p : ds) if (Files.isDirectory(p)) out.add(p);
        } catch (IOException ignored) {
            // unreadable folder: skip it
        }
    }
}
