//! The execution engine's promises: pooled buffers, compiled-once pipelines, batched
//! submissions, and clear errors.

mod common;
use common::ctx;
use gan_tensor::{Context, Error, Tensor};

/// One "training-like" step: upload, several kernels, a reduction, one readback.
fn step(ctx: &Context, data: &[f32]) -> f32 {
    let x = Tensor::from_slice(ctx, data, &[33, 31]).unwrap();
    let b = Tensor::full(ctx, &[31], 0.5).unwrap();
    let y = x.add(&b).unwrap().relu().unwrap().mul(&x).unwrap();
    let s = y.sum_axis(0, false).unwrap().sum_all().unwrap();
    s.to_vec().unwrap()[0]
}

#[test]
fn steady_state_loop_allocates_no_new_buffers() {
    let ctx = Context::new().unwrap();
    let data = gan_tensor::testing::random(1, 33 * 31, -1.0, 1.0);
    let first = step(&ctx, &data);
    let after_first = ctx.stats();
    for _ in 0..20 {
        assert_eq!(step(&ctx, &data), first, "same inputs, same result");
    }
    let after = ctx.stats();
    assert_eq!(
        after.buffers_created, after_first.buffers_created,
        "{after_first:?} -> {after:?}"
    );
    assert_eq!(after.pipelines_compiled, after_first.pipelines_compiled);
    assert!(after.dispatches > after_first.dispatches);
}

#[test]
fn pipelines_compile_once_per_specialization() {
    let ctx = Context::new().unwrap();
    let x = Tensor::from_slice(&ctx, &[1.0, -2.0, 3.0], &[3]).unwrap();
    let before = ctx.stats().pipelines_compiled;
    x.relu().unwrap();
    x.relu().unwrap();
    assert_eq!(ctx.stats().pipelines_compiled, before + 1);
    x.tanh().unwrap(); // another OP constant: another pipeline
    assert_eq!(ctx.stats().pipelines_compiled, before + 2);
}

#[test]
fn recorded_dispatches_go_in_one_submission() {
    let ctx = Context::new().unwrap();
    let x = Tensor::from_slice(&ctx, &[1.0, 2.0, 3.0], &[3]).unwrap();
    ctx.sync().unwrap();
    let before = ctx.stats();
    let mut y = x.clone();
    for _ in 0..50 {
        y = y.add(&x).unwrap();
    }
    assert_eq!(
        ctx.stats().submissions,
        before.submissions,
        "nothing submitted before a readback"
    );
    assert_eq!(y.to_vec().unwrap(), vec![51.0, 102.0, 153.0]);
    assert_eq!(ctx.stats().submissions, before.submissions + 1);
}

#[test]
fn tensor_over_binding_limit_is_refused() {
    let c = ctx();
    let n = (c.max_tensor_bytes() / 4 + 1) as usize;
    let err = Tensor::zeros(&c, &[n]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("exceeds"), "{err}");
}

#[test]
fn shape_errors_name_both_shapes() {
    let c = ctx();
    let err = Tensor::from_slice(&c, &[1.0; 5], &[2, 3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("5 values") && err.contains("[2, 3]"), "{err}");
    let t = Tensor::zeros(&c, &[2, 3]).unwrap();
    let err = t.reshape(&[4, 2]).unwrap_err().to_string();
    assert!(err.contains("[2, 3]") && err.contains("[4, 2]"), "{err}");
    assert!(Tensor::zeros(&c, &[1, 1, 1, 1, 1]).is_err());
}

#[test]
fn reshape_is_free_and_copy_is_not() {
    let c = ctx();
    let t = Tensor::from_slice(&c, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let r = t.reshape(&[3, 2]).unwrap();
    assert!(r.shares_buffer(&t));
    assert_eq!(r.dims(), &[3, 2]);
    let k = t.copy().unwrap();
    assert!(!k.shares_buffer(&t));
    assert_eq!(k.to_vec().unwrap(), t.to_vec().unwrap());
    let z = Tensor::zeros(&c, &[2, 3]).unwrap();
    z.assign(&t).unwrap();
    assert_eq!(z.to_vec().unwrap(), t.to_vec().unwrap());
    assert!(z.assign(&r).is_err());
}

#[test]
fn tensors_of_two_devices_do_not_mix() {
    let a = Tensor::zeros(&ctx(), &[2]).unwrap();
    let b = Tensor::zeros(&Context::new().unwrap(), &[2]).unwrap();
    assert!(matches!(a.add(&b), Err(Error::DeviceMismatch { .. })));
}

#[test]
fn destroyed_device_reports_an_error_not_a_hang() {
    let c = Context::new().unwrap();
    let x = Tensor::from_slice(&c, &[1.0, 2.0], &[2]).unwrap();
    c.device().destroy();
    let r = x.relu().and_then(|y| y.to_vec());
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn adapter_is_described() {
    let c = ctx();
    assert!(!c.adapter().name.is_empty());
    assert!(c.limits().max_storage_buffer_binding_size > 0);
    assert_eq!(c.grid(10), [10, 1, 1]);
    let g = c.grid(70_000);
    assert!(g[0] <= 65535 && g[1] <= 65535 && (g[0] as u64 * g[1] as u64) >= 70_000);
}

#[test]
fn views_share_a_flat_buffer_and_respect_alignment() {
    let c = ctx();
    let align = c.view_alignment();
    let flat = Tensor::zeros(&c, &[3 * align]).unwrap();
    let w = flat.view(0, &[2, 3]).unwrap();
    let b = flat.view(align, &[5]).unwrap();
    let vals = Tensor::from_slice(&c, &[1.0, 2.0, 3.0, 4.0, 5.0], &[5]).unwrap();
    b.assign(&vals).unwrap();
    w.fill_(7.0).unwrap();
    b.add_assign(&vals).unwrap();
    b.add_assign_scaled(&vals, -0.5).unwrap();
    let all = flat.to_vec().unwrap();
    assert_eq!(&all[..6], &[7.0; 6]);
    assert_eq!(
        &all[6..align],
        &vec![0.0; align - 6][..],
        "untouched padding"
    );
    assert_eq!(&all[align..align + 5], &[1.5, 3.0, 4.5, 6.0, 7.5]);
    assert_eq!(b.to_vec().unwrap(), vec![1.5, 3.0, 4.5, 6.0, 7.5]);
    // A kernel reading a view at an offset reads the right elements.
    assert_eq!(
        b.relu().unwrap().sum_all().unwrap().to_vec().unwrap(),
        vec![22.5]
    );
    assert_eq!(
        b.copy().unwrap().to_vec().unwrap(),
        vec![1.5, 3.0, 4.5, 6.0, 7.5]
    );
    if align > 1 {
        assert!(flat
            .view(1, &[2])
            .unwrap_err()
            .to_string()
            .contains("multiple"));
    }
    assert!(flat.view(2 * align, &[align + 1]).is_err());
    let err = b.add_assign(&w).unwrap_err().to_string();
    assert!(err.contains("[5]") && err.contains("[2, 3]"), "{err}");
}

/// The OpenGL fallback on a CPU adapter gets a line of advice; lavapipe and GPUs do not.
#[test]
fn opengl_on_a_cpu_adapter_gets_advice() {
    if std::env::var_os("WGPU_BACKEND").is_some() {
        return; // the user chose the backend: no advice by design
    }
    let summary = |backend, device_type| gan_tensor::AdapterSummary {
        name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
        backend,
        device_type,
        driver: "Mesa".into(),
        subgroup_size: (8, 8),
    };
    let gl = summary(wgpu::Backend::Gl, wgpu::DeviceType::Cpu).advice();
    assert!(gl.unwrap().contains("mesa-vulkan-drivers"));
    assert_eq!(
        summary(wgpu::Backend::Vulkan, wgpu::DeviceType::Cpu).advice(),
        None
    );
    assert_eq!(
        summary(wgpu::Backend::Gl, wgpu::DeviceType::IntegratedGpu).advice(),
        None
    );
}
