package org.cce4j.trainer.train;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.formats.CachedDatasetReader;
import org.cce4j.trainer.data.formats.DatasetReader;
import org.cce4j.trainer.data.formats.FormatOptions;
import org.cce4j.trainer.data.formats.LoadedDataset;
import org.cce4j.trainer.data.packing.TokenCache;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * How a run reads its data files, chosen once by data.cache: through the token cache (tokenized once,
 * mapped after) or into memory as every run did before the cache. Both give the same rows and report.
 */
interface DataSource {
    LoadedDataset read(Path path, FormatOptions options, Tokenizer tokenizer, Supplier<ChatTemplate> template) throws IOException;

    static DataSource inMemory() {
        return DatasetReader::read;
    }

    static DataSource cached(TokenCache.Options cache, String tokenizerDigest) {
        return (path, options, tokenizer, template) -> CachedDatasetReader.read(path, options, tokenizer, template, tokenizerDigest, cache);
    }
}
