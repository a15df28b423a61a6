use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
struct Store {
    #[cls(locale)]
    tx: Option<u64>,
}

fn main() {}
