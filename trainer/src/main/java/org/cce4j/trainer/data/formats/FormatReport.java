package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.data.RowReport;

/**
 * What reading a dataset in a text format did: the rows report (kept, truncated, split, skipped by
 * kind) and what the format added.
 *
 * @param format             the format read
 * @param detected           the format was told from the first row's fields (else it was given)
 * @param rows               rows, tokens, targets, truncations, splits and skips
 * @param boundaryMerged     prompt/completion rows (and alpaca's) whose prompt tokens are not where the
 *                           whole row's tokens start (tokens merged across the boundary; see {@link PromptCompletionEncoder})
 * @param spanSource         for chat rows: where the assistant spans came from, else null
 */
public record FormatReport(DataFormat format, boolean detected, RowReport rows, long boundaryMerged, String spanSource) {

    /** One line: the rows' summary, then the format, e.g. {@code chat.jsonl: 10 rows, ...; format chat (detected), spans from the template's generation blocks}. */
    public String summary() {
        StringBuilder sb = new StringBuilder(rows.summary()).append("; format ").append(format.key()).append(detected ? " (detected)" : "");
        if (spanSource != null) sb.append(", assistant spans from ").append(spanSource);
        if (boundaryMerged > 0) {
            sb.append("; ").append(boundaryMerged).append(" rows whose prompt tokens merge with the completion's (the first prompt-length tokens are masked, as TRL does)");
        }
        return sb.toString();
    }
}
