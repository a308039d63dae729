package org.cce4j.trainer.demo;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The FAQ's plain text into pairs, on a hand-made excerpt in the package's layout (no-break spaces
 * after section numbers and in indents, wrapped headings, an indented table of contents, a chapter
 * heading, a section that is not a question, one whose text is a command, a footnote mark, an answer
 * whose last sentence introduces a list): the expected pairs are
 * written out by hand.
 */
class FaqPairsTest {
    private static final String NB = "\u00a0";
    private static final String FAQ = String.join("\n",
            "Table of Contents",
            "",
            "    1.1. What is this FAQ?",
            "",
            "1. Definitions and overview",
            "",
            "1.1." + NB + "What is this FAQ?",
            "",
            NB + " " + NB + "  This document gives frequently asked questions (with their answers!)",
            "    about the Debian distribution.",
            "",
            "    It is kept current.",
            "",
            "1.2." + NB + "What is the difference between Debian and other",
            "distributions?",
            "",
            "    Debian is made by volunteers. It has a \u201csocial contract\u201d. It packs",
            "    many things.",
            "",
            "1.3." + NB + "Credits",
            "",
            "    Many people wrote this FAQ over the years.",
            "",
            "2. Getting and installing",
            "",
            "2.1." + NB + "How do I upgrade?",
            "",
            "    $ apt upgrade",
            "",
            "2.2." + NB + "Where can I get the images?",
            "",
            "    * a list item first",
            "",
            "    From the Debian web site, which lists every mirror of the archive.^[3]",
            "",
            "2.3." + NB + "What is Debian made of?",
            "",
            "    Debian is made of packages. It has these parts:",
            "",
            "      * main",
            "");

    @Test
    void sectionsWhoseHeadingIsAQuestionBecomePairs() {
        List<FaqPairs.Pair> pairs = FaqPairs.parse(FAQ, 1000);
        assertEquals(List.of(
                new FaqPairs.Pair("What is this FAQ?",
                        "This document gives frequently asked questions (with their answers!) about the Debian distribution. It is kept current."),
                new FaqPairs.Pair("What is the difference between Debian and other distributions?",
                        "Debian is made by volunteers. It has a \"social contract\". It packs many things."),
                new FaqPairs.Pair("Where can I get the images?", "From the Debian web site, which lists every mirror of the archive."),
                new FaqPairs.Pair("What is Debian made of?", "Debian is made of packages.")),
                pairs);
    }

    @Test
    void aLongAnswerIsCutAtTheLastSentenceEndThatFits() {
        List<FaqPairs.Pair> pairs = FaqPairs.parse(FAQ, 60);
        assertEquals("Debian is made by volunteers. It has a \"social contract\".", pairs.get(1).answer());
    }
}
