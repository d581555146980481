//! The WGSL sources, one file per kernel family, all from the workspace's `shaders/` folder.

/// One WGSL file: its family name (the file stem) and source.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// File stem, e.g. "matmul"; also the shader module's label.
    pub name: &'static str,
    /// WGSL source text.
    pub source: &'static str,
}

macro_rules! family {
    ($name:ident, $file:literal) => {
        #[doc = concat!("shaders/", $file, ".wgsl")]
        pub const $name: Family = Family {
            name: $file,
            source: include_str!(concat!("../../../shaders/", $file, ".wgsl")),
        };
    };
}

family!(ELEMENTWISE, "elementwise");
family!(REDUCE, "reduce");
family!(CONV, "conv");
family!(RNG, "rng");
family!(BCE, "bce");
family!(OPTIM, "optim");
family!(BATCHNORM, "batchnorm");
family!(MATMUL, "matmul");
family!(MATMUL_SUBGROUP, "matmul_subgroup");
family!(MATMUL_C4, "matmul_c4");
family!(MATMUL_SUBGROUP_C4, "matmul_subgroup_c4");
family!(MATMUL_NARROW, "matmul_narrow");
family!(MATMUL_NARROW_TEX, "matmul_narrow_tex");
family!(MATMUL_SUBGROUP_TEX, "matmul_subgroup_tex");
family!(MATMUL_SUBGROUP_TEX_C4, "matmul_subgroup_tex_c4");
family!(SOFTMAX, "softmax");
family!(EMBEDDING, "embedding");
family!(MAXOUT, "maxout");
family!(OPTIM_VEC4, "optim_vec4");

/// Every family gan-tensor launches (the naga test checks this matches `shaders/`).
pub const ALL: &[Family] = &[
    ELEMENTWISE,
    REDUCE,
    MATMUL,
    MATMUL_SUBGROUP,
    MATMUL_C4,
    MATMUL_SUBGROUP_C4,
    MATMUL_NARROW,
    MATMUL_NARROW_TEX,
    MATMUL_SUBGROUP_TEX,
    MATMUL_SUBGROUP_TEX_C4,
    SOFTMAX,
    RNG,
    CONV,
    BCE,
    OPTIM,
    BATCHNORM,
    EMBEDDING,
    MAXOUT,
    OPTIM_VEC4,
];
