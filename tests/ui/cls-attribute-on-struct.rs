use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
#[cls(local)]
struct Store {
    tx: Option<u64>,
}

fn main() {}
