//! The allocation meter counts this thread's peak, and `check_cases` fails on a reader
//! that allocates more than the input justifies.

#[global_allocator]
static ALLOC: gan_fuzz::CountingAlloc = gan_fuzz::CountingAlloc;

#[test]
fn peak_alloc_sees_a_large_temporary() {
    let ((), peak) = gan_fuzz::peak_alloc(|| {
        let v = vec![0u8; 1 << 20];
        std::hint::black_box(&v);
    });
    assert!((1 << 20..(1 << 20) + 4096).contains(&peak), "{peak}");
}

#[test]
fn check_cases_refuses_a_runaway_allocation() {
    let cases = vec![gan_fuzz::Case {
        what: "header promises 64 MiB".into(),
        bytes: vec![0; 8],
    }];
    let r = std::panic::catch_unwind(|| {
        gan_fuzz::check_cases(
            "alloc",
            &cases,
            |n| 1024 + 16 * n,
            |_| {
                let v = vec![1u8; 64 << 20];
                std::hint::black_box(&v);
                Err("refused, but too late".into())
            },
        )
    });
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("case 0 (header promises 64 MiB): allocated 671088"),
        "{msg}"
    );
    assert!(msg.contains("for a 8-byte input (limit 1152)"), "{msg}");
}
