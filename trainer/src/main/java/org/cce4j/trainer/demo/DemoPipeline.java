package org.cce4j.trainer.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.core.device.Devices;
import org.cce4j.core.tensor.Device;
import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.trainer.checkpoint.RunFolder;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.metrics.MetricsLog;
import org.cce4j.trainer.metrics.MetricsRecord;
import org.cce4j.trainer.train.Trainer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The demo, end to end, on real text: a BPE tokenizer trained on Moby Dick; a small Llama pretrained
 * from scratch on it with CCE by train's own {@link Trainer} (a YAML config, as `train --config` reads),
 * with held-back chapters as validation; a greedy sample before and after; a LoRA chat fine-tune on the
 * Debian FAQ's questions and answers (loss on the assistant turns only) with a held-out part, and a
 * chat answer before and after; then what CCE saves against the materialized loss at the demo's shapes
 * and at Llama 3's vocabulary. Everything lands in the output folder: model/ (tokenizer and config),
 * data/ (the texts as train reads them), pretrain/ and chat/ (run folders).
 */
public final class DemoPipeline {
    public static final String STORY_PROMPT = "Call me Ishmael. Some years ago";
    static final int LLAMA3_VOCAB = 128_256;

    /**
     * @param device cpu, cuda or cuda:N; null = a usable GPU, else the CPU (as train chooses)
     * @param train  how the training runs report (their progress goes to its err)
     */
    public record Options(DemoPlan plan, Path dataFolder, Path output, String device, PrintWriter out, Trainer.Options train) {}

    /**
     * What the demo made, for the test.
     *
     * @param stoppedBy the signal that stopped a training run ("INT", "TERM"; the demo stops there), or null
     */
    public record Result(Path model, Path pretrain, Path chat, List<FaqPairs.Pair> trainPairs, List<FaqPairs.Pair> validationPairs,
                         double seconds, String stoppedBy) {}

    private final Options o;
    private final PrintWriter out;
    private final Device device;

    private DemoPipeline(Options o) {
        this.o = o;
        this.out = o.out();
        this.device = Devices.choose(o.device()).device();
    }

    public static Result run(Options o) throws IOException {
        return new DemoPipeline(o).run();
    }

    private Result run() throws IOException {
        long start = System.nanoTime();
        DemoPlan plan = o.plan();
        DemoData data = DemoData.read(o.dataFolder());
        Path root = o.output().toAbsolutePath().normalize();
        Path dataDir = root.resolve("data"), model = root.resolve("model"), pretrain = root.resolve("pretrain"), chat = root.resolve("chat");
        removeFolder(dataDir);
        removeFolder(model);
        Files.createDirectories(model);

        say("cce4j demo (%s): pretrain a small Llama on Moby Dick with Cut Cross-Entropy, then LoRA-tune it to chat on the Debian FAQ, on %s", plan.name(), device);
        say("data: %s", DemoData.LICENCES);

        // the texts
        List<String> trainText = new ArrayList<>(), validationText = new ArrayList<>();
        int chapters = plan.chapters() > 0 ? Math.min(plan.chapters(), data.chapters().size()) : data.chapters().size();
        for (int i = 0; i < chapters; i++) {
            String text = data.chapters().get(i);
            Path file = dataDir.resolve((i + 1) % plan.validationEvery() == 0 ? "moby-validation" : "moby-train").resolve(String.format(Locale.ROOT, "chapter_%03d.txt", i + 1));
            ((i + 1) % plan.validationEvery() == 0 ? validationText : trainText).add(text);
            Files.createDirectories(file.getParent());
            AtomicFiles.writeString(file, text);
        }
        List<FaqPairs.Pair> pairs = FaqPairs.parse(data.faqText(), plan.answerChars());
        if (plan.faqPairs() > 0 && pairs.size() > plan.faqPairs()) pairs = pairs.subList(0, plan.faqPairs());
        List<FaqPairs.Pair> trainPairs = new ArrayList<>(), validationPairs = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) (i % 10 == 9 ? validationPairs : trainPairs).add(pairs.get(i));
        writeChat(dataDir.resolve("chat-train.jsonl"), trainPairs);
        writeChat(dataDir.resolve("chat-validation.jsonl"), validationPairs);
        say("       %d chapters to pretrain on (%,d characters), %d held back for validation (every %d-th); %d FAQ pairs to fine-tune on, %d held out",
                trainText.size(), chars(trainText), validationText.size(), plan.validationEvery(), trainPairs.size(), validationPairs.size());

        // (a) the tokenizer
        long t0 = System.nanoTime();
        List<String> tokenizerTexts = new ArrayList<>(trainText);
        for (FaqPairs.Pair p : trainPairs) tokenizerTexts.add(p.question() + "\n" + p.answer());
        DemoTokenizer.train(tokenizerTexts, plan.vocabSize(), model);
        Tokenizer tokenizer = Tokenizer.load(model);
        int eos = tokenizer.tokenToId(DemoTokenizer.EOS).orElseThrow(), end = tokenizer.tokenToId(DemoTokenizer.END).orElseThrow();
        long trainTokens = 0;
        for (String t : trainText) trainTokens += tokenizer.encode(t, false).length;
        say("%ntokenizer: byte-level BPE of %,d tokens trained in %.1f s; the pretraining text is %,d tokens (%.2f characters a token)",
                tokenizer.vocabSize(), seconds(t0), trainTokens, (double) chars(trainText) / trainTokens);

        // (b) the model and its pretraining
        DemoModel shape = DemoModel.of(plan.shape(), plan.vocabSize(), plan.seqLen());
        shape.write(model, eos, end);
        say("model: Llama, hidden %d, %d layers, %d heads (%d KV), MLP %d, tied embeddings: %,d parameters, random init",
                shape.hidden(), shape.layers(), shape.heads(), shape.kvHeads(), shape.intermediate(), shape.parameters());
        say("%nbefore pretraining, greedy: \"%s\" ->%n    %s", STORY_PROMPT,
                quote(DemoSample.generate(model, true, 0, null, STORY_PROMPT, false, plan.sampleTokens(), device)));
        say("%npretraining: %d steps of %d × %d tokens, lr %s, loss CCE ...", plan.pretrainSteps(), plan.microBatch(), plan.seqLen(), plan.pretrainLr());
        out.flush();
        ObjectNode pc = config(model, pretrain, dataDir.resolve("moby-train"), dataDir.resolve("moby-validation"), plan.pretrainSteps(),
                plan.pretrainEvalEvery(), plan.pretrainLr());
        pc.put("init", "random");
        ((ObjectNode) pc.get("data")).put("format", "text").put("text_split", "file").put("overflow", "split");
        ((ObjectNode) pc.get("train")).put("epochs", 1000).put("warmup_steps", Math.max(1, plan.pretrainSteps() / 12)).put("weight_decay", 0.1);
        String stop = train(pc, root.resolve("pretrain.yaml"));
        if (stop != null) return new Result(model, pretrain, chat, trainPairs, validationPairs, seconds(start), stop);
        reportEvaluations("pretraining", pretrain);
        Path pretrained = pretrain.resolve(RunFolder.FINAL);
        say("%nafter pretraining, greedy: \"%s\" ->%n    %s", STORY_PROMPT,
                quote(DemoSample.generate(pretrained, false, 0, null, STORY_PROMPT, false, plan.sampleTokens(), device)));

        // (d) the chat fine-tune
        FaqPairs.Pair seen = trainPairs.getFirst(), unseen = validationPairs.isEmpty() ? null : validationPairs.getFirst();
        say("%nchat, before the fine-tune: %s", chatLine(pretrained, null, seen, "a training question"));
        say("%nLoRA fine-tune (r %d) on the FAQ pairs, %d epochs, loss on the assistant turns only ...", plan.loraRank(), plan.chatEpochs());
        out.flush();
        ObjectNode cc = config(pretrained, chat, dataDir.resolve("chat-train.jsonl"), dataDir.resolve("chat-validation.jsonl"), 0,
                plan.chatEvalEvery(), plan.chatLr());
        ((ObjectNode) cc.get("data")).put("format", "chat").put("train_on", "assistant");
        ((ObjectNode) cc.get("train")).put("epochs", plan.chatEpochs()).put("warmup_steps", 2);
        cc.putObject("lora").put("r", plan.loraRank()).put("alpha", 2.0 * plan.loraRank()).put("dropout", 0.0);
        stop = train(cc, root.resolve("chat.yaml"));
        if (stop != null) return new Result(model, pretrain, chat, trainPairs, validationPairs, seconds(start), stop);
        reportEvaluations("fine-tune", chat);
        Path adapter = chat.resolve(RunFolder.FINAL);
        say("%nchat, after the fine-tune: %s", chatLine(pretrained, adapter, seen, "a training question"));
        if (unseen != null) say("%s", chatLine(pretrained, adapter, unseen, "a held-out question"));

        // (e) what CCE saved
        say("%nthe loss's extra memory (beyond its inputs and gradients), CCE against the materialized baseline, measured on the CPU:");
        for (int v : new int[] {plan.vocabSize(), LLAMA3_VOCAB}) {
            // a warm-up at the demo's small shape first: the first call's one-time allocations are no working memory
            LossComparison.Result r = LossComparison.measure(plan.lossTokens(), shape.hidden(), v, v != LLAMA3_VOCAB, null);
            say("    N %,d × D %d, V %,7d%s: CCE %8.1f MB, baseline %8.1f MB (its logits alone %.1f MB); same loss: %.6f vs %.6f",
                    r.n(), r.d(), v, v == LLAMA3_VOCAB ? " (Llama 3)" : " (demo)", r.cce().extraBytes() / 1e6, r.baseline().extraBytes() / 1e6,
                    r.logitsBytes() / 1e6, r.cce().loss(), r.baseline().loss());
        }
        double secs = seconds(start);
        say("%ndone in %.0f s (%d min %02d s); run folders (metrics.jsonl, loss.png, final/): %s, %s",
                secs, (int) secs / 60, (int) secs % 60, pretrain, chat);
        return new Result(model, pretrain, chat, trainPairs, validationPairs, secs, null);
    }

    /** Runs train on {@code config} (written to {@code yaml} first); the signal that stopped it, or null. */
    private String train(ObjectNode config, Path yaml) throws IOException {
        AtomicFiles.writeString(yaml, new YAMLMapper().writeValueAsString(config));
        TrainConfig c = TrainConfig.read(yaml, List.of());
        return Trainer.run(c, o.train().withOverwrite(true)).stoppedBy();
    }

    /** A run config with the demo's common settings (a YAML file as `train --config` reads). */
    private ObjectNode config(Path model, Path output, Path train, Path validation, int maxSteps, int evalEvery, double lr) {
        DemoPlan plan = o.plan();
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model", model.toString());
        if (o.device() != null) c.put("device", o.device());
        c.put("output", output.toString());
        c.putObject("data").put("train", train.toString()).put("validation", validation.toString()).put("packing", true).put("seq_len", plan.seqLen());
        c.putObject("train").put("max_steps", maxSteps).put("micro_batch_size", plan.microBatch()).put("lr", lr).put("schedule", "cosine")
                .put("log_every", 10).put("seed", 0);
        c.putObject("loss").put("impl", "cce");
        c.putObject("save").put("every_steps", 0);
        c.putObject("eval").put("every_steps", evalEvery);
        return c;
    }

    /** The run's first training loss and its evaluations, one line. */
    private void reportEvaluations(String what, Path run) throws IOException {
        List<MetricsRecord> m = MetricsLog.read(run.resolve(RunFolder.METRICS));
        StringBuilder evals = new StringBuilder();
        for (MetricsRecord r : m) {
            if (!r.isEval()) continue;
            evals.append(evals.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "step %d %.3f (ppl %.1f)", r.step(), r.number("eval_loss"), r.number("eval_ppl")));
        }
        MetricsRecord first = m.stream().filter(r -> !r.isEval()).findFirst().orElseThrow();
        MetricsRecord last = m.stream().filter(r -> !r.isEval()).reduce((a, b) -> b).orElseThrow();
        say("%s: training loss %.3f at step 1 -> %.3f at step %d; validation loss %s", what, first.number("loss"), last.number("loss"), last.step(), evals);
    }

    private String chatLine(Path model, Path adapter, FaqPairs.Pair pair, String kind) throws IOException {
        String answer = DemoSample.generate(model, false, 0, adapter, pair.question(), true, o.plan().sampleTokens() * 2, device);
        return String.format(Locale.ROOT, "%s, \"%s\"%n    model:  %s%n    FAQ:    %s", kind, pair.question(), quote(answer), quote(pair.answer()));
    }

    private static void writeChat(Path file, List<FaqPairs.Pair> pairs) throws IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder s = new StringBuilder();
        for (FaqPairs.Pair p : pairs) {
            ObjectNode row = json.createObjectNode();
            var messages = row.putArray("messages");
            messages.addObject().put("role", "user").put("content", p.question());
            messages.addObject().put("role", "assistant").put("content", p.answer());
            s.append(json.writeValueAsString(row)).append('\n');
        }
        Files.createDirectories(file.getParent());
        AtomicFiles.writeString(file, s.toString());
    }

    private static String quote(String text) {
        String one = text.replaceAll("\\s+", " ").strip();
        return one.length() > 240 ? one.substring(0, 240) + "..." : one;
    }

    private void say(String format, Object... args) {
        out.printf(Locale.ROOT, format + "%n", args);
        out.flush();
    }

    private static long chars(List<String> texts) {
        return texts.stream().mapToLong(String::length).sum();
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Removes a folder the demo wrote before (its data and model are made anew each run). */
    private static void removeFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
