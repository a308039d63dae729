/**
 * Packing and data larger than memory.
 * <ul>
 *   <li>Packing: {@link org.cce4j.trainer.data.packing.Packer} (best-fit decreasing into seq_len),
 *       {@link org.cce4j.trainer.data.packing.PackedPlan} (the steps of a packed run, a
 *       {@link org.cce4j.trainer.data.StepPlan} like the unpacked {@link org.cce4j.trainer.data.PaddedPlan}),
 *       {@link org.cce4j.trainer.data.packing.PackedBatches} (packs → a Batch with documents, positions
 *       restarting and -100 at each document's first label).</li>
 *   <li>The token store: {@link org.cce4j.trainer.data.packing.TokenFile} (mapped rows behind
 *       {@link org.cce4j.trainer.data.TokenRows}), {@link org.cce4j.trainer.data.packing.TokenFileWriter}
 *       (streamed, atomic), and {@link org.cce4j.trainer.data.packing.TokenCache} (tokenized sources by
 *       source size, mtime and tokenization hash, built by a {@link org.cce4j.trainer.data.packing.RowBuilder}
 *       on worker threads, in file order). {@code trainer.data.formats.CachedDatasetReader} is what
 *       reads every data file of {@code train} through it.</li>
 * </ul>
 * docs/training.md, "Packing and large datasets", is the user's view.
 */
package org.cce4j.trainer.data.packing;
