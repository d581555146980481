//! The op-id tables: one numbering per kernel family, shared by the Rust launchers and the
//! WGSL kernels, so that no two lists are kept in sync by hand.
//!
//! The activations are the first entries of the unary table: matmul's fused epilogue
//! (`MatmulParams::epilogue`) and the elementwise unary map (`OP`) read the same ids. Every
//! shader that selects an op holds the block [`wgsl_block`] writes, between
//! [`BEGIN`] and [`END`]; a test checks each copy against these tables, and
//! `cargo xtask gen-matmul` rewrites them (it also writes the matmul shaders, which are
//! generated whole).

/// Unary maps; ids 0-4 are also matmul's fused activations.
pub mod unary {
    /// Identity (matmul: no activation).
    pub const NONE: u32 = 0;
    /// max(x, 0)
    pub const RELU: u32 = 1;
    /// x if x > 0 else alpha * x
    pub const LEAKY_RELU: u32 = 2;
    /// tanh(x), overflow-free
    pub const TANH: u32 = 3;
    /// The logistic sigmoid, overflow-free.
    pub const SIGMOID: u32 = 4;
    /// exp(x)
    pub const EXP: u32 = 5;
    /// ln(x)
    pub const LOG: u32 = 6;
    /// x * alpha + beta
    pub const AFFINE: u32 = 7;
    /// sqrt(x)
    pub const SQRT: u32 = 8;
    /// x * x
    pub const SQUARE: u32 = 9;
    /// |x|
    pub const ABS: u32 = 10;
}

/// Binary maps and the activation backwards.
pub mod binary {
    /// a + b
    pub const ADD: u32 = 0;
    /// a - b
    pub const SUB: u32 = 1;
    /// a * b
    pub const MUL: u32 = 2;
    /// a / b
    pub const DIV: u32 = 3;
    /// max(a, b)
    pub const MAX: u32 = 4;
    /// min(a, b)
    pub const MIN: u32 = 5;
    /// dy where x > 0, else 0
    pub const RELU_BACKWARD: u32 = 6;
    /// dy where x > 0, else alpha * dy
    pub const LEAKY_RELU_BACKWARD: u32 = 7;
    /// dy * (1 - y^2)
    pub const TANH_BACKWARD: u32 = 8;
    /// dy * y * (1 - y)
    pub const SIGMOID_BACKWARD: u32 = 9;
}

/// Every table: (WGSL prefix, [(name, id)]).
pub const TABLES: &[(&str, &[(&str, u32)])] = &[
    (
        "UNARY",
        &[
            ("NONE", unary::NONE),
            ("RELU", unary::RELU),
            ("LEAKY_RELU", unary::LEAKY_RELU),
            ("TANH", unary::TANH),
            ("SIGMOID", unary::SIGMOID),
            ("EXP", unary::EXP),
            ("LOG", unary::LOG),
            ("AFFINE", unary::AFFINE),
            ("SQRT", unary::SQRT),
            ("SQUARE", unary::SQUARE),
            ("ABS", unary::ABS),
        ],
    ),
    (
        "BINARY",
        &[
            ("ADD", binary::ADD),
            ("SUB", binary::SUB),
            ("MUL", binary::MUL),
            ("DIV", binary::DIV),
            ("MAX", binary::MAX),
            ("MIN", binary::MIN),
            ("RELU_BACKWARD", binary::RELU_BACKWARD),
            ("LEAKY_RELU_BACKWARD", binary::LEAKY_RELU_BACKWARD),
            ("TANH_BACKWARD", binary::TANH_BACKWARD),
            ("SIGMOID_BACKWARD", binary::SIGMOID_BACKWARD),
        ],
    ),
];

/// First line of the generated block in a shader.
pub const BEGIN: &str = "// BEGIN op ids: generated from crates/gan-tensor/src/ops.rs (cargo xtask gen-matmul); do not edit";
/// Last line of the generated block.
pub const END: &str = "// END op ids";

/// The WGSL constants of every table (`const UNARY_RELU: u32 = 1u;`), between [`BEGIN`]
/// and [`END`], each line ending in a newline.
pub fn wgsl_block() -> String {
    let mut s = format!("{BEGIN}\n");
    for (prefix, ops) in TABLES {
        for (name, id) in *ops {
            s += &format!("const {prefix}_{name}: u32 = {id}u;\n");
        }
    }
    s + END + "\n"
}

/// `source` with its op-id block replaced by [`wgsl_block`]; None when it has no block.
pub fn refresh(source: &str) -> Option<String> {
    let start = source.find(BEGIN)?;
    let end = start + source[start..].find(END)? + END.len();
    let end = end + usize::from(source[end..].starts_with('\n'));
    Some(format!(
        "{}{}{}",
        &source[..start],
        wgsl_block(),
        &source[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_within_a_table() {
        for (prefix, ops) in TABLES {
            let mut ids: Vec<u32> = ops.iter().map(|o| o.1).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), ops.len(), "{prefix}");
        }
    }

    #[test]
    fn every_shader_that_selects_an_op_holds_the_current_block() {
        let mut holders = Vec::new();
        for f in crate::shaders::ALL {
            if f.source.contains(BEGIN) {
                assert_eq!(
                    refresh(f.source).as_deref(),
                    Some(f.source),
                    "shaders/{}.wgsl: its op ids differ from crates/gan-tensor/src/ops.rs; run \
                     `cargo xtask gen-matmul`",
                    f.name
                );
                holders.push(f.name);
            }
        }
        for name in [
            "elementwise",
            "matmul",
            "matmul_c4",
            "matmul_subgroup",
            "matmul_subgroup_c4",
            "matmul_narrow",
        ] {
            assert!(holders.contains(&name), "{name} has no op-id block");
        }
    }

    #[test]
    fn refresh_replaces_only_the_block() {
        let old = format!("a\n{BEGIN}\nconst UNARY_RELU: u32 = 7u;\n{END}\nb\n");
        let new = refresh(&old).unwrap();
        assert_eq!(new, format!("a\n{}b\n", wgsl_block()));
        assert!(new.contains("const UNARY_RELU: u32 = 1u;\n"));
        assert_eq!(refresh("no block"), None);
    }
}
