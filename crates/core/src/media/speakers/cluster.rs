//! The recording's speakers from pieces of the windows' voices: agglomerative
//! clustering of their prints (centroid linkage on cosine similarity), never joining
//! pieces of two voices the segmentation told apart in one window. Without a given
//! number, merging stops when the closest two groups are less alike than
//! [`SAME_VOICE`]; then groups clearly of one voice ([`CLEARLY_ONE_VOICE`]) join
//! whatever the windows said (or, with a number, until there are that many), and groups with too little speech to be a
//! speaker join the one they are most like.

use super::voiceprint::{cosine, normalise};

/// Prints of one voice are closer than this (cosine of the groups' centroids): the
/// test voices' centroids are 0.1-0.64 alike, turns of one voice 0.8-0.94.
pub const SAME_VOICE: f32 = 0.7;
/// Groups this alike are one voice even where a window told them apart.
pub const CLEARLY_ONE_VOICE: f32 = 0.8;
/// A group with less than this share of the speech is not a speaker of its own.
const SMALLEST_SHARE: f32 = 0.03;

/// A piece of one window's voice: its print, how much it spoke (any unit, the same for
/// all), its window and the window's voice it is a piece of.
#[derive(Debug, Clone)]
pub struct Item {
    pub print: Vec<f32>,
    pub weight: f32,
    pub window: usize,
    pub voice: usize,
}

struct Group {
    sum: Vec<f32>,
    unit: Vec<f32>,
    weight: f32,
    /// The (window, voice) of its items, sorted.
    windows: Vec<(usize, usize)>,
    members: Vec<usize>,
}

impl Group {
    /// Whether the two hold pieces of two voices of one window.
    fn shares_a_window(&self, other: &Group) -> bool {
        let (mut a, mut b) = (
            self.windows.iter().peekable(),
            other.windows.iter().peekable(),
        );
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            match x.0.cmp(&y.0) {
                std::cmp::Ordering::Equal if x.1 != y.1 => return true,
                std::cmp::Ordering::Equal => {
                    a.next();
                }
                std::cmp::Ordering::Less => {
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                }
            }
        }
        false
    }

    fn absorb(&mut self, other: Group) {
        for (s, o) in self.sum.iter_mut().zip(&other.sum) {
            *s += o;
        }
        self.unit = self.sum.clone();
        normalise(&mut self.unit);
        self.weight += other.weight;
        self.windows.extend(other.windows);
        self.windows.sort_unstable();
        self.members.extend(other.members);
    }
}

/// The speaker (0, 1, ...) of each item. `count`: how many speakers there are, when
/// known.
pub fn cluster(items: &[Item], count: Option<usize>) -> Vec<usize> {
    let mut groups: Vec<Option<Group>> = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let sum: Vec<f32> = it.print.iter().map(|x| x * it.weight.max(1e-3)).collect();
            let mut unit = sum.clone();
            normalise(&mut unit);
            Some(Group {
                sum,
                unit,
                weight: it.weight,
                windows: vec![(it.window, it.voice)],
                members: vec![i],
            })
        })
        .collect();
    let n = groups.len();
    let nearest = |groups: &[Option<Group>], i: usize| -> Option<(f32, usize)> {
        let g = groups[i].as_ref()?;
        groups
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(j, o)| o.as_ref().map(|o| (j, o)))
            .filter(|(_, o)| !g.shares_a_window(o))
            .map(|(j, o)| (cosine(&g.unit, &o.unit), j))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    };
    let mut best: Vec<Option<(f32, usize)>> = (0..n).map(|i| nearest(&groups, i)).collect();
    let mut alive = n;
    let wanted = count.unwrap_or(1).max(1);
    while alive > wanted {
        let Some((i, (sim, j))) = best
            .iter()
            .enumerate()
            .filter(|(i, _)| groups[*i].is_some())
            .filter_map(|(i, b)| b.map(|b| (i, b)))
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
        else {
            break;
        };
        if count.is_none() && sim < SAME_VOICE {
            break;
        }
        let other = groups[j].take().expect("a nearest group is alive");
        groups[i].as_mut().expect("alive").absorb(other);
        alive -= 1;
        best[j] = None;
        best[i] = nearest(&groups, i);
        for k in 0..n {
            if k == i || groups[k].is_none() {
                continue;
            }
            match best[k] {
                Some((_, p)) if p == i || p == j => best[k] = nearest(&groups, k),
                _ => {
                    let (gk, gi) = (groups[k].as_ref().unwrap(), groups[i].as_ref().unwrap());
                    if !gk.shares_a_window(gi) {
                        let s = cosine(&gk.unit, &gi.unit);
                        if best[k].is_none_or(|(b, _)| s > b) {
                            best[k] = Some((s, i));
                        }
                    }
                }
            }
        }
    }
    let mut kept: Vec<Group> = groups.into_iter().flatten().collect();
    // The windows' separations are hints, not laws: over an hour the segmentation splits
    // one voice in two somewhere, and two groups of one voice could then never join.
    // Groups clearly of one voice (or more groups than asked for) join freely.
    loop {
        let mut best: Option<(f32, usize, usize)> = None;
        for a in 0..kept.len() {
            for b in a + 1..kept.len() {
                let s = cosine(&kept[a].unit, &kept[b].unit);
                if best.is_none_or(|(m, _, _)| s > m) {
                    best = Some((s, a, b));
                }
            }
        }
        let Some((sim, a, b)) = best else { break };
        let more_than_asked = count.is_some_and(|n| kept.len() > n.max(1));
        if !(more_than_asked || (count.is_none() && sim >= CLEARLY_ONE_VOICE)) {
            break;
        }
        let g = kept.swap_remove(b);
        kept[a].absorb(g);
    }
    if count.is_none() {
        // Groups that spoke too little to be speakers join the one they are most like.
        let total: f32 = kept.iter().map(|g| g.weight).sum();
        kept.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let big = kept
            .iter()
            .position(|g| g.weight < total * SMALLEST_SHARE)
            .unwrap_or(kept.len())
            .max(1);
        let small = kept.split_off(big);
        for g in small {
            let to = (0..kept.len())
                .max_by(|&a, &b| {
                    cosine(&kept[a].unit, &g.unit).total_cmp(&cosine(&kept[b].unit, &g.unit))
                })
                .expect("one group is kept");
            kept[to].absorb(g);
        }
    }
    let mut speaker = vec![0; n];
    for (s, g) in kept.iter().enumerate() {
        for &m in &g.members {
            speaker[m] = s;
        }
    }
    speaker
}

/// The centroid (unit length) of the items each speaker has.
pub fn centroids(items: &[Item], speaker: &[usize], speakers: usize) -> Vec<Vec<f32>> {
    let dim = items.first().map_or(0, |i| i.print.len());
    let mut sums = vec![vec![0f32; dim]; speakers];
    for (it, &s) in items.iter().zip(speaker) {
        for (a, x) in sums[s].iter_mut().zip(&it.print) {
            *a += x * it.weight.max(1e-3);
        }
    }
    for s in &mut sums {
        normalise(s);
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalise(&mut v);
        v
    }

    fn item(v: &[f32], window: usize) -> Item {
        Item {
            print: unit(v),
            weight: 100.0,
            window,
            voice: window,
        }
    }

    #[test]
    fn like_prints_group_and_unlike_ones_stay_apart() {
        let a = [1.0, 0.1, 0.0];
        let b = [0.0, 1.0, 0.1];
        let items = vec![
            item(&a, 0),
            item(&b, 0),
            item(&[0.9, 0.2, 0.0], 1),
            item(&[0.1, 0.9, 0.0], 2),
            item(&a, 3),
        ];
        let s = cluster(&items, None);
        assert_eq!(s[0], s[2]);
        assert_eq!(s[0], s[4]);
        assert_eq!(s[1], s[3]);
        assert_ne!(s[0], s[1]);
    }

    #[test]
    fn two_voices_of_one_window_join_only_when_clearly_one() {
        // Rather alike (cosine 0.75), but two voices of window 0: two speakers.
        let mut items = vec![item(&[1.0, 0.0], 0), item(&[0.75, 0.66], 0)];
        items[1].voice = 1;
        let s = cluster(&items, None);
        assert_ne!(s[0], s[1]);
        // The same prints as two pieces of one voice of a window: one speaker.
        items[1].voice = 0;
        let s = cluster(&items, None);
        assert_eq!(s[0], s[1]);
        // Two voices of a window, but alike as one voice is (0.99): one speaker.
        let mut items = vec![item(&[1.0, 0.0], 0), item(&[0.99, 0.05], 0)];
        items[1].voice = 1;
        let s = cluster(&items, None);
        assert_eq!(s[0], s[1]);
    }

    #[test]
    fn a_given_count_is_reached_and_a_tiny_group_joins_its_nearest() {
        let items = vec![
            item(&[1.0, 0.0, 0.0], 0),
            item(&[0.0, 1.0, 0.0], 1),
            item(&[0.0, 0.0, 1.0], 2),
        ];
        let s = cluster(&items, Some(2));
        let distinct: std::collections::BTreeSet<_> = s.iter().collect();
        assert_eq!(distinct.len(), 2);
        let mut small = items.clone();
        small.push(Item {
            print: unit(&[0.2, 0.2, 1.0]),
            weight: 1.0,
            window: 3,
            voice: 0,
        });
        small[2].window = 0;
        small[2].voice = 1;
        let s = cluster(&small, None);
        assert_eq!(s.iter().collect::<std::collections::BTreeSet<_>>().len(), 3);
    }
}
