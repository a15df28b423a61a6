use cls_core::ClsStore;

#[derive(ClsStore, Clone)]
struct Store(u64, String);

fn main() {}
