//! Generated transcripts for the summary tests and benches: a long lecture that changes
//! topic at known times, a meeting with decisions and action items said aloud, and a
//! Chinese lecture. The sentences come from templates filled with each topic's own
//! words, as a speaker keeps returning to the words of their subject.

use crate::meetings::Rng;

/// One timed line of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Who said it, for meetings (speakers are numbered from 1, as documents number them).
    pub speaker: Option<u32>,
}

/// A generated transcript and where its topics change.
#[derive(Debug, Clone)]
pub struct Generated {
    pub lines: Vec<Line>,
    /// The times the second and later topics start.
    pub topic_starts_ms: Vec<u64>,
    pub duration_ms: u64,
}

struct Topic {
    nouns: &'static [&'static str],
    verbs: &'static [&'static str],
    adjectives: &'static [&'static str],
}

const TOPICS: [Topic; 3] = [
    Topic {
        nouns: &[
            "photosynthesis",
            "chlorophyll",
            "the leaf",
            "sunlight",
            "glucose",
            "the chloroplast",
            "carbon dioxide",
            "oxygen",
            "the Calvin cycle",
            "the thylakoid",
            "water",
            "the plant",
            "the stomata",
            "light energy",
            "ATP",
            "the enzyme rubisco",
        ],
        verbs: &[
            "absorbs", "converts", "produces", "releases", "stores", "captures", "splits", "fixes",
        ],
        adjectives: &[
            "green",
            "chemical",
            "solar",
            "cellular",
            "photosynthetic",
            "organic",
        ],
    },
    Topic {
        nouns: &[
            "the Roman Senate",
            "Julius Caesar",
            "the legion",
            "the republic",
            "the consul",
            "Augustus",
            "the empire",
            "Carthage",
            "the aqueduct",
            "the forum",
            "the tribune",
            "Cicero",
            "the province",
            "Pompey",
            "the civil war",
            "the emperor",
        ],
        verbs: &[
            "conquered",
            "governed",
            "defeated",
            "founded",
            "reformed",
            "ruled",
            "built",
            "divided",
        ],
        adjectives: &[
            "ancient",
            "Roman",
            "military",
            "political",
            "imperial",
            "republican",
        ],
    },
    Topic {
        nouns: &[
            "the neural network",
            "gradient descent",
            "the training set",
            "the loss function",
            "backpropagation",
            "the learning rate",
            "overfitting",
            "the model",
            "the weights",
            "regularization",
            "the validation set",
            "the optimizer",
            "a transformer",
            "the embedding",
            "the batch",
            "attention",
        ],
        verbs: &[
            "minimizes",
            "updates",
            "learns",
            "predicts",
            "generalizes",
            "computes",
            "trains",
            "evaluates",
        ],
        adjectives: &[
            "statistical",
            "deep",
            "numerical",
            "stochastic",
            "supervised",
            "linear",
        ],
    },
];

const TEMPLATES: [&str; 8] = [
    "So {n1} {v} {n2} in a {a} way.",
    "Remember that {n1} is closely tied to {n2}.",
    "Here you can see how {n1} {v} {n2}.",
    "The {a} role of {n1} matters for {n2}.",
    "Now, when {n1} {v} {n2}, we get a {a} result.",
    "Many students confuse {n1} with {n2}.",
    "Let me explain why {n1} {v} {n2}.",
    "In the exam you should describe how {n1} relates to {n2}.",
];

fn sentence(rng: &mut Rng, topic: &Topic) -> String {
    let pick =
        |rng: &mut Rng, words: &[&'static str]| words[rng.below(words.len() as u64) as usize];
    let t = TEMPLATES[rng.below(TEMPLATES.len() as u64) as usize];
    let s = t
        .replace("{n1}", pick(rng, topic.nouns))
        .replace("{n2}", pick(rng, topic.nouns))
        .replace("{v}", pick(rng, topic.verbs))
        .replace("{a}", pick(rng, topic.adjectives));
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// A lecture of `minutes` on photosynthesis, then Roman history, then machine
/// learning, changing topic at 30 % and 65 % of its length; a line every 5 to 9 s with
/// pauses between, and a longer pause now and then.
pub fn lecture(minutes: u64, seed: u64) -> Generated {
    let duration_ms = minutes * 60_000;
    let changes = [duration_ms * 30 / 100, duration_ms * 65 / 100];
    let mut rng = Rng(seed | 1);
    let mut lines = Vec::new();
    let mut t = 500;
    while t < duration_ms - 5_000 {
        let topic = changes.iter().filter(|&&c| t >= c).count();
        let len = 5_000 + rng.below(4_000);
        let text = format!(
            "{} {}",
            sentence(&mut rng, &TOPICS[topic]),
            sentence(&mut rng, &TOPICS[topic])
        );
        let end = (t + len).min(duration_ms);
        lines.push(Line {
            start_ms: t,
            end_ms: end,
            text,
            speaker: None,
        });
        t = end + 300 + rng.below(700) + if rng.below(20) == 0 { 4_000 } else { 0 };
        // A new topic starts on its own line.
        if let Some(&c) = changes.iter().find(|&&c| t > c && end < c) {
            t = c;
        }
    }
    Generated {
        lines,
        topic_starts_ms: changes.to_vec(),
        duration_ms,
    }
}

/// A planning meeting of three people: a decision, two action items with owner and due
/// date, and an open question, said in turn among other talk.
pub fn meeting() -> Generated {
    let said: [(u32, &str); 14] = [
        (
            0,
            "Good morning everyone, let us start the planning meeting for the spring release.",
        ),
        (
            1,
            "The testing of the new export feature is almost finished.",
        ),
        (
            2,
            "The documentation still needs screenshots of the new window.",
        ),
        (
            0,
            "We decided to ship the spring release on the fourteenth of April.",
        ),
        (
            1,
            "Agreed, the fourteenth of April works for the testing team.",
        ),
        (2, "Alice will write the release notes by Friday."),
        (
            0,
            "Yes Alice, please send the release notes to everyone by Friday.",
        ),
        (
            1,
            "Bob will fix the crash in the PDF export before next Tuesday.",
        ),
        (
            1,
            "I am Bob, and I will have the PDF fix ready before next Tuesday.",
        ),
        (
            2,
            "We still do not know whether the Windows installer needs a new signing certificate.",
        ),
        (
            0,
            "That question stays open until we hear from the security team.",
        ),
        (2, "The budget for the launch event was approved last week."),
        (1, "Then we are done with the release plan."),
        (0, "Thank you all, see you next week."),
    ];
    let mut lines = Vec::new();
    let mut t = 1_000;
    for (who, text) in said {
        let len = 2_500 + text.len() as u64 * 45;
        lines.push(Line {
            start_ms: t,
            end_ms: t + len,
            text: text.into(),
            speaker: Some(who + 1),
        });
        t += len + 700;
    }
    Generated {
        lines,
        topic_starts_ms: Vec::new(),
        duration_ms: t + 1_000,
    }
}

/// A short Chinese lecture on photosynthesis.
pub fn chinese_lecture() -> Generated {
    let said = [
        "今天我们学习光合作用。",
        "光合作用是植物利用光能把二氧化碳和水转化为葡萄糖的过程。",
        "叶绿素吸收阳光，它主要存在于叶绿体中。",
        "在光反应中，水被分解，释放出氧气。",
        "卡尔文循环利用二氧化碳合成有机物。",
        "光合作用为地球上几乎所有生命提供能量。",
        "考试的时候，请说明光反应和暗反应的区别。",
        "下节课我们讨论细胞呼吸。",
    ];
    let mut lines = Vec::new();
    let mut t = 800;
    for text in said {
        let len = 2_000 + text.chars().count() as u64 * 220;
        lines.push(Line {
            start_ms: t,
            end_ms: t + len,
            text: text.into(),
            speaker: None,
        });
        t += len + 600;
    }
    Generated {
        lines,
        topic_starts_ms: Vec::new(),
        duration_ms: t + 1_000,
    }
}
