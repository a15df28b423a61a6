use cls_core::ClsStore;

#[derive(Clone)]
pub struct TxHandle(u64);

#[derive(ClsStore, Clone)]
struct Store {
    #[cls(local)]
    tx: TxHandle,
}

fn main() {}
