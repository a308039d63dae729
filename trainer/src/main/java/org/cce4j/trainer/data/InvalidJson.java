package org.cce4j.trainer.data;

import com.fasterxml.jackson.core.JsonProcessingException;

/** Jackson's syntax error as a bad row: one line, its source location cut to "at column N". Shared by every JSONL reader. */
public final class InvalidJson {
    private InvalidJson() {}

    public static BadRowException of(JsonProcessingException e) {
        String at = e.getLocation() != null && e.getLocation().getColumnNr() > 0 ? " at column " + e.getLocation().getColumnNr() : "";
        return new BadRowException(BadRow.INVALID_JSON, "invalid JSON" + at + ": " + oneLine(e.getOriginalMessage()));
    }

    /** Jackson's message on one line, its source locations ("[Source: ...; line: 1, column: 15]") cut to "column 15". */
    static String oneLine(String s) {
        if (s == null) return "";
        return s.replaceAll("\\[Source: [^\\]]*column: (\\d+)\\]", "column $1").replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
