use cls_core::ClsStore;

#[derive(ClsStore, Clone, Copy)]
union Store {
    a: u64,
    b: f64,
}

fn main() {}
