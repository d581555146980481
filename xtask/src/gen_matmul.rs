//! `cargo xtask gen-matmul [--check]`: writes `shaders/matmul.wgsl`,
//! `shaders/matmul_subgroup.wgsl` and their vec4-store twins `matmul_c4.wgsl`,
//! `matmul_subgroup_c4.wgsl`. The register-blocked kernels are fully unrolled (a
//! 16 x 8 block of C per invocation, 32 x 4 in the subgroup ones; named registers, vec4
//! loads), which is what makes
//! them fast on lavapipe, so they are generated rather than written by hand. With
//! `--check` nothing is written and a difference is an error (CI runs the same check as a
//! test).
//!
//! Why this shape (measured on lavapipe, 2-core AVX2): each storage-buffer load there is a
//! per-lane scalar loop, so the kernel minimises load instructions per FMA: vec4 loads, a
//! 16 x 8 block per invocation (bigger blocks spill), no barriers; the subgroup variant
//! has each of the 8 lanes load 1/8 of the rows of A and share them with subgroupBroadcast,
//! which makes rows cheaper than columns: its 32 x 4 block issues 8 loads per 4 values of
//! k where 16 x 8 issued 10, for the same 512 fmas.

use std::path::Path;

use anyhow::{bail, Result};

use crate::gen_matmul_text::{
    COMMON, HEADER_C4, HEADER_MAIN, HEADER_SUBGROUP, SPLIT_K, SPLIT_K_SUM, STORE_SCALAR,
    STORE_VEC4, TILED,
};

const C4: [&str; 4] = ["x", "y", "z", "w"];

struct Fin {
    pub tm: usize,
    pub tn: usize,
    pub wgy: usize,
    pub sg: bool,
}

fn push(s: &mut String, ind: usize, l: &str) {
    for _ in 0..ind {
        s.push_str("    ");
    }
    s.push_str(l);
    s.push('\n');
}

/// fast path body for one transpose combination (all vec4 loads aligned)
// The index loops name the registers a{i}, b{j} of the emitted WGSL.
#[allow(clippy::needless_range_loop)]
fn fast_body(f: &Fin, ta: bool, tb: bool, s: &mut String, ind: usize) {
    let (tm, tn) = (f.tm, f.tn);
    let nq = if f.sg { tm / 8 } else { tm };
    // per-invocation clamped bases (rows/cols past the end are clamped: loads stay in bounds, results are not stored)
    if f.sg {
        if !ta {
            for q in 0..nq {
                push(
                    s,
                    ind,
                    &format!("let ra{q} = min(m0 + l + {}u, M - 1u) * K;", 8 * q),
                );
            }
        } else {
            for q in 0..nq {
                push(s, ind, &format!("let fk{q} = (l + {}u) % 4u; let ca{q} = min(m0 + 4u * ((l + {}u) / 4u), M - 4u);", 8 * q, 8 * q));
            }
        }
    } else if !ta {
        for i in 0..tm {
            push(s, ind, &format!("let ra{i} = min(m0 + {i}u, M - 1u) * K;"));
        }
    } else {
        for q in 0..tm / 4 {
            push(
                s,
                ind,
                &format!("let ca{q} = min(m0 + {}u, M - 4u);", 4 * q),
            );
        }
    }
    if tb {
        for j in 0..tn / 4 {
            for c in 0..4 {
                push(
                    s,
                    ind,
                    &format!("let rb{j}{c} = min(n0 + {}u, N - 1u) * K;", 32 * j + c),
                );
            }
        }
    } else {
        for j in 0..tn / 4 {
            push(
                s,
                ind,
                &format!("let cb{j} = min(n0 + {}u, N - 4u);", 32 * j),
            );
        }
    }
    push(s, ind, "for (var k = KB; k < KE; k = k + 4u) {");
    let i2 = ind + 1;
    // A values av(i, kk)
    let mut av = vec![vec![String::new(); 4]; tm];
    if f.sg {
        for q in 0..nq {
            if !ta {
                push(s, i2, &format!("let al{q} = a[(ra{q} + k) >> 2u];"));
            } else {
                push(
                    s,
                    i2,
                    &format!("let al{q} = a[((k + fk{q}) * M + ca{q}) >> 2u];"),
                );
            }
        }
        for i in 0..tm {
            for kk in 0..4 {
                av[i][kk] = if !ta {
                    format!("subgroupBroadcast(al{}.{}, {}u)", i / 8, C4[kk], i % 8)
                } else {
                    let fl = (i / 4) * 4 + kk;
                    format!("subgroupBroadcast(al{}.{}, {}u)", fl / 8, C4[i % 4], fl % 8)
                };
            }
        }
    } else if !ta {
        for i in 0..tm {
            push(s, i2, &format!("let a{i} = a[(ra{i} + k) >> 2u];"));
            for kk in 0..4 {
                av[i][kk] = format!("a{i}.{}", C4[kk]);
            }
        }
    } else {
        for kk in 0..4 {
            for q in 0..tm / 4 {
                push(
                    s,
                    i2,
                    &format!("let a{q}{kk} = a[((k + {kk}u) * M + ca{q}) >> 2u];"),
                );
                for c in 0..4 {
                    av[4 * q + c][kk] = format!("a{q}{kk}.{}", C4[c]);
                }
            }
        }
    }
    let mut bv = vec![vec![String::new(); tn / 4]; 4];
    if !tb {
        for kk in 0..4 {
            for j in 0..tn / 4 {
                push(
                    s,
                    i2,
                    &format!("let b{kk}{j} = b[((k + {kk}u) * N + cb{j}) >> 2u];"),
                );
                bv[kk][j] = format!("b{kk}{j}");
            }
        }
    } else {
        for j in 0..tn / 4 {
            for c in 0..4 {
                push(s, i2, &format!("let b{j}{c} = b[(rb{j}{c} + k) >> 2u];"));
            }
        }
        for kk in 0..4 {
            for j in 0..tn / 4 {
                bv[kk][j] = format!(
                    "vec4<f32>(b{j}0.{x}, b{j}1.{x}, b{j}2.{x}, b{j}3.{x})",
                    x = C4[kk]
                );
            }
        }
    }
    for kk in 0..4 {
        for i in 0..tm {
            let a = if f.sg {
                push(s, i2, &format!("let s{i}{kk} = vec4<f32>({});", av[i][kk]));
                format!("s{i}{kk}")
            } else {
                format!("vec4<f32>({})", av[i][kk])
            };
            for j in 0..tn / 4 {
                push(
                    s,
                    i2,
                    &format!("acc{i}_{j} = fma({a}, {}, acc{i}_{j});", bv[kk][j]),
                );
            }
        }
    }
    push(s, ind, "}");
}

fn gen_regblock(f: &Fin, entry: &str) -> String {
    let (tm, tn, wgy) = (f.tm, f.tn, f.wgy);
    let mut s = String::new();
    push(&mut s, 0, &format!("@compute @workgroup_size(8, {wgy}, 1)"));
    push(&mut s, 0, &format!("fn {entry}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {{"));
    push(&mut s, 1, "let M = p.m; let N = p.n; let K = p.k;");
    push(&mut s, 1, SPLIT_K);
    push(
        &mut s,
        1,
        &format!(
            "// lane l owns columns n0 + 32*j + c (j < {}, c < 4) and rows m0 .. m0+{}",
            tn / 4,
            tm - 1
        ),
    );
    push(&mut s, 1, &format!("let l = lid.x; let n0 = wg.x * {}u + 4u * l; let m0 = (wg.y * {wgy}u + lid.y) * {tm}u;", 8 * tn));
    for i in 0..tm {
        let z = (0..tn / 4)
            .map(|j| format!("acc{i}_{j}"))
            .collect::<Vec<_>>();
        push(
            &mut s,
            1,
            &format!(
                "var {} = vec4<f32>(0.0);",
                z.join(" = vec4<f32>(0.0); var ")
            ),
        );
    }
    push(&mut s, 1, "// vec4 fast path needs the contiguous dimension of each operand to be a multiple of 4 (uniform branch)");
    push(
        &mut s,
        1,
        "let a_vec = select(K % 4u == 0u, M % 4u == 0u, TRANS_A);",
    );
    push(
        &mut s,
        1,
        "let b_vec = select(N % 4u == 0u, K % 4u == 0u, TRANS_B);",
    );
    push(&mut s, 1, "if (a_vec && b_vec) {");
    for (idx, (ta, tb)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let cond = format!(
            "{}TRANS_A && {}TRANS_B",
            if ta { "" } else { "!" },
            if tb { "" } else { "!" }
        );
        push(
            &mut s,
            2,
            &format!("{}if ({cond}) {{", if idx == 0 { "" } else { "} else " }),
        );
        fast_body(f, ta, tb, &mut s, 3);
    }
    push(&mut s, 2, "}");
    push(&mut s, 1, "} else {");
    push(
        &mut s,
        2,
        "// general path: any shape, one k per step, scalar element fetch (slower)",
    );
    for i in 0..tm {
        push(&mut s, 2, &format!("let r{i} = min(m0 + {i}u, M - 1u);"));
    }
    for j in 0..tn / 4 {
        for c in 0..4 {
            push(
                &mut s,
                2,
                &format!("let c{j}{c} = min(n0 + {}u, N - 1u);", 32 * j + c),
            );
        }
    }
    push(&mut s, 2, "for (var k = KB; k < KE; k = k + 1u) {");
    for i in 0..tm {
        push(
            &mut s,
            3,
            &format!("let a{i} = vec4<f32>(lda(r{i}, k, M, K));"),
        );
    }
    for j in 0..tn / 4 {
        push(&mut s, 3, &format!("let b{j} = vec4<f32>(ldb(k, c{j}0, N, K), ldb(k, c{j}1, N, K), ldb(k, c{j}2, N, K), ldb(k, c{j}3, N, K));"));
    }
    for i in 0..tm {
        for j in 0..tn / 4 {
            push(
                &mut s,
                3,
                &format!("acc{i}_{j} = fma(a{i}, b{j}, acc{i}_{j});"),
            );
        }
    }
    push(&mut s, 2, "}");
    push(&mut s, 1, "}");
    push(&mut s, 1, "// epilogue + guarded store");
    for i in 0..tm {
        push(&mut s, 1, &format!("if (m0 + {i}u < M) {{"));
        push(&mut s, 2, &format!("let row = CZ + (m0 + {i}u) * N;"));
        for j in 0..tn / 4 {
            push(
                &mut s,
                2,
                &format!("store4(row, n0 + {}u, N, acc{i}_{j});", 32 * j),
            );
        }
        push(&mut s, 1, "}");
    }
    push(&mut s, 0, "}");
    s
}

fn common(c4: bool) -> String {
    let common = COMMON.replace("// BEGIN op ids\n", &(gan_tensor::ops::wgsl_block() + "\n"));
    if c4 {
        common.replace(
            "var<storage, read_write> c: array<f32>;  // C_BINDING",
            "var<storage, read_write> c: array<vec4<f32>>;  // N % 4 == 0",
        ) + STORE_VEC4
    } else {
        common.replace("  // C_BINDING", "") + STORE_SCALAR
    }
}

/// Texels per row of the operand textures (gan_tensor's `TEXTURE_WIDTH`).
const TEXTURE_WIDTH: u32 = 1024;

const HEADER_TEX: &str = "// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// The texture twin of the kernel below: A and B are read from rgba32float textures (flat vec4
// index i at texel (i % 1024, i / 1024), copied from their buffers by the launcher) instead of
// storage buffers. lavapipe turns a storage-buffer load into a per-lane loop with a bounds check
// and a texel fetch into one gather, so the same loads cost less; they are the same loads in the
// same order, so the product has the same bits as the buffer kernel's (tested).
";

/// The texture twin of a register-blocked kernel `src` whose entry point is `entry`:
/// every `a[i]` / `b[i]` (a vec4 of a storage buffer) becomes `va(i)` / `vb(i)`, a
/// textureLoad of the operand textures bound in their place, and the entry point gains
/// `_tex`.
fn textured(src: &str, entry: &str) -> String {
    let src = src
        .replace(
            "@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;",
            &format!(
                "@group(0) @binding(1) var ta: texture_2d<f32>;\n\
                 fn va(i: u32) -> vec4<f32> {{ return textureLoad(ta, vec2<u32>(i & {}u, i >> {}u), 0); }}",
                TEXTURE_WIDTH - 1,
                TEXTURE_WIDTH.trailing_zeros()
            ),
        )
        .replace(
            "@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;",
            &format!(
                "@group(0) @binding(2) var tb: texture_2d<f32>;\n\
                 fn vb(i: u32) -> vec4<f32> {{ return textureLoad(tb, vec2<u32>(i & {}u, i >> {}u), 0); }}",
                TEXTURE_WIDTH - 1,
                TEXTURE_WIDTH.trailing_zeros()
            ),
        )
        .replace(&format!("fn {entry}("), &format!("fn {entry}_tex("));
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut closing: Vec<bool> = Vec::new(); // per open '[': whether it becomes ')'
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let ident = |j: usize| chars[j].is_alphanumeric() || chars[j] == '_';
        if (c == 'a' || c == 'b')
            && i + 1 < chars.len()
            && chars[i + 1] == '['
            && (i == 0 || !ident(i - 1))
        {
            out.push('v');
            out.push(c);
            out.push('(');
            closing.push(true);
            i += 2;
            continue;
        }
        match c {
            '[' => closing.push(false),
            ']' if closing.pop() == Some(true) => {
                out.push(')');
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    format!("{HEADER_TEX}{out}")
}

/// (file name under shaders/, contents) of every generated shader.
pub fn generate() -> Vec<(&'static str, String)> {
    let plain = Fin {
        tm: 16,
        tn: 8,
        wgy: 2,
        sg: false,
    };
    let shared = Fin {
        tm: 32,
        tn: 4,
        wgy: 2,
        sg: true,
    };
    let subgroup = format!(
        "{HEADER_SUBGROUP}{}\n{}",
        common(false),
        gen_regblock(&shared, "matmul_subgroup")
    );
    let subgroup_c4 = format!(
        "{HEADER_C4}{}\n{}",
        common(true),
        gen_regblock(&shared, "matmul_subgroup_c4")
    );
    vec![
        (
            "matmul_subgroup_tex.wgsl",
            textured(&subgroup, "matmul_subgroup"),
        ),
        (
            "matmul_subgroup_tex_c4.wgsl",
            textured(&subgroup_c4, "matmul_subgroup_c4"),
        ),
        (
            "matmul.wgsl",
            format!(
                "{HEADER_MAIN}{}\n{}{TILED}{SPLIT_K_SUM}",
                common(false),
                gen_regblock(&plain, "matmul_regblock")
            ),
        ),
        ("matmul_subgroup.wgsl", subgroup),
        (
            "matmul_c4.wgsl",
            format!(
                "{HEADER_C4}{}\n{}",
                common(true),
                gen_regblock(&plain, "matmul_regblock_c4")
            ),
        ),
        ("matmul_subgroup_c4.wgsl", subgroup_c4),
    ]
}

/// Hand-written shaders whose op-id block (gan_tensor::ops) the task refreshes.
const HOLDERS: [&str; 2] = ["elementwise.wgsl", "matmul_narrow.wgsl"];

pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let mut files = generate();
    for name in HOLDERS {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)?;
        match gan_tensor::ops::refresh(&text) {
            Some(new) => {
                // The narrow kernel's texture twin, from the refreshed hand-written file.
                if name == "matmul_narrow.wgsl" {
                    files.push(("matmul_narrow_tex.wgsl", textured(&new, "matmul_narrow")));
                }
                files.push((name, new))
            }
            None => bail!("{} has no op-id block", path.display()),
        }
    }
    for (name, src) in files {
        let path = dir.join(name);
        if check {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            if on_disk != src {
                bail!(
                    "{} differs from the generator; run `cargo xtask gen-matmul`",
                    path.display()
                );
            }
            println!("{}: up to date", path.display());
        } else {
            std::fs::write(&path, src)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_matmul_shaders_match_the_generator() {
        super::run(&["--check".to_string()]).unwrap();
    }
}
