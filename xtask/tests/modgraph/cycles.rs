//! Import circles of a [`ModuleGraph`]: its strongly connected groups (Tarjan).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::ModuleGraph;

/// One circle per strongly connected group of modules (Tarjan), as a path from its
/// smallest module back to itself.
pub fn cycles(g: &ModuleGraph) -> Vec<Vec<String>> {
    let (nodes, edges) = g.parts();
    let index_of: BTreeMap<&String, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map(|s| s.iter().filter_map(|t| index_of.get(t).copied()).collect())
                .unwrap_or_default()
        })
        .collect();
    let groups = tarjan(&succ);
    let mut out = Vec::new();
    for group in groups.into_iter().filter(|c| c.len() > 1) {
        let inside: BTreeSet<usize> = group.iter().copied().collect();
        let start = *inside.iter().next().unwrap();
        // Shortest way back to `start` inside the group (BFS).
        let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut end = None;
        while let Some(v) = queue.pop_front() {
            for &w in &succ[v] {
                if !inside.contains(&w) {
                    continue;
                }
                if w == start {
                    end = Some(v);
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
            if end.is_some() {
                break;
            }
        }
        let mut path = vec![start];
        let mut v = end.expect("a strongly connected group has a circle");
        let mut back = vec![v];
        while v != start {
            v = prev[&v];
            if v != start {
                back.push(v);
            }
        }
        back.reverse();
        path.extend(back);
        path.push(start);
        out.push(path.into_iter().map(|i| nodes[i].clone()).collect());
    }
    out
}

fn tarjan(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        succ: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for k in 0..s.succ[v].len() {
            let w = s.succ[v][k];
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(group);
        }
    }
    let n = succ.len();
    let mut s = State {
        succ,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}
