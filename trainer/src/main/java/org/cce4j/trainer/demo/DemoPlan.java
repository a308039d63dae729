package org.cce4j.trainer.demo;

/**
 * The demo's sizes in one place: how much text, how big a tokenizer and model, how many steps. The
 * standard plan fits in about seven minutes on two CPU cores at today's training speed (about 550
 * tokens/s for its 3.9 M-parameter Llama at a sequence of 256); raise the step counts here as the CPU
 * step gets faster. The quick plan is the same pipeline at toy sizes, for the test and a first look.
 *
 * @param chapters          Moby Dick chapters used (0 = all)
 * @param validationEvery   every this-many-th chapter is held back as validation (chapter numbers divisible by it)
 * @param faqPairs          Debian FAQ pairs used (0 = all); every tenth is held out
 * @param answerChars       an answer is cut at a sentence end near this many characters
 * @param vocabSize         the BPE tokenizer's vocabulary (its 256 bytes, merges, 4 special tokens)
 * @param pretrainSteps     optimizer steps of pretraining
 * @param pretrainEvalEvery an evaluation on the held-back chapters every this many steps
 * @param chatEpochs        passes of the LoRA fine-tune over the training pairs
 * @param lossTokens        N of the CCE-against-baseline measurement (micro-batch × sequence, as a step's forward)
 */
public record DemoPlan(String name, int chapters, int validationEvery, int faqPairs, int answerChars, int vocabSize, DemoModel.Shape shape,
                       int seqLen, int microBatch, int pretrainSteps, int pretrainEvalEvery, double pretrainLr, int chatEpochs,
                       int chatEvalEvery, double chatLr, int loraRank, int sampleTokens, int lossTokens) {
    public static final DemoPlan STANDARD = new DemoPlan("standard", 0, 45, 0, 320, 4096, DemoModel.Shape.STANDARD,
            256, 8, 150, 50, 3e-3, 5, 10, 1e-2, 16, 40, 1024);

    public static final DemoPlan QUICK = new DemoPlan("quick", 8, 4, 24, 200, 512, DemoModel.Shape.QUICK,
            256, 4, 12, 4, 1e-2, 1, 2, 5e-3, 8, 12, 64);
}
