#[derive(ClsStore, Clone, Default)]
struct AppStore {
    user: User,
    r#type: String,
}
#[allow(non_camel_case_types, non_snake_case)]
const _: () = {
    #[allow(unused_imports)]
    use ::cls_core::__private::{
        CloneKind as _, JsonKind as _, LeafKind as _, NestedKind as _, NoJsonKind as _,
        NoKeyTree as _, NotCloneKind as _, OptionTagKind as _, StoreTagKind as _,
        ValueTagKind as _,
    };
    #[doc(hidden)]
    #[diagnostic::on_unimplemented(
        message = "no field `{Name}` in `AppStore`",
        label = "`AppStore` has no such field (the name is spelled out letter by letter above)",
        note = "the fields of `AppStore` are: `user`, `r#type`"
    )]
    pub trait ClsFieldOfAppStore<Name> {
        type Type: 'static;
        fn field(&self) -> &Self::Type;
        fn field_mut(&mut self) -> &mut Self::Type;
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ClsFieldOfAppStore<
        (
            ::cls_core::__private::chars::u,
            ::cls_core::__private::chars::s,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::r,
        ),
    > for AppStore {
        type Type = User;
        #[inline]
        fn field(&self) -> &User {
            &self.user
        }
        #[inline]
        fn field_mut(&mut self) -> &mut User {
            &mut self.user
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ClsFieldOfAppStore<
        (
            ::cls_core::__private::chars::t,
            ::cls_core::__private::chars::y,
            ::cls_core::__private::chars::p,
            ::cls_core::__private::chars::e,
        ),
    > for AppStore {
        type Type = String;
        #[inline]
        fn field(&self) -> &String {
            &self.r#type
        }
        #[inline]
        fn field_mut(&mut self) -> &mut String {
            &mut self.r#type
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl<
        __ClsName,
        __ClsRest,
    > ::cls_core::__private::Resolve<::cls_core::__private::Cons<__ClsName, __ClsRest>>
    for AppStore
    where
        Self: ClsFieldOfAppStore<__ClsName>,
        <Self as ClsFieldOfAppStore<
            __ClsName,
        >>::Type: ::cls_core::__private::Resolve<__ClsRest>,
    {
        type Value = <<Self as ClsFieldOfAppStore<
            __ClsName,
        >>::Type as ::cls_core::__private::Resolve<__ClsRest>>::Value;
        #[inline]
        fn resolve(&self) -> &Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve(ClsFieldOfAppStore::<__ClsName>::field(self))
        }
        #[inline]
        fn resolve_mut(&mut self) -> &mut Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve_mut(ClsFieldOfAppStore::<__ClsName>::field_mut(self))
        }
    }
    #[automatically_derived]
    impl ::cls_core::__private::DynStore for AppStore {
        fn dyn_name(&self) -> &'static str {
            "AppStore"
        }
        fn dyn_field_names(&self) -> &'static [&'static str] {
            &["user", "type"]
        }
        fn dyn_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<::cls_core::__private::FieldRef<'_>> {
            match name {
                "user" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<User>::NEW)
                            .field_kind()
                            .as_store(&self.user),
                        json: (&::cls_core::__private::Probe::<User>::NEW)
                            .json_kind()
                            .as_json(&self.user),
                        ty: "User",
                        terminal: false,
                        generic: false,
                    })
                }
                "type" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store(&self.r#type),
                        json: (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json(&self.r#type),
                        ty: "String",
                        terminal: false,
                        generic: false,
                    })
                }
                _ => ::core::option::Option::None,
            }
        }
        fn dyn_store_mut(
            &mut self,
            name: &str,
        ) -> ::core::option::Option<
            ::core::option::Option<&mut dyn ::cls_core::__private::DynStore>,
        > {
            match name {
                "user" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<User>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.user),
                    )
                }
                "type" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.r#type),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
        fn dyn_json_mut(
            &mut self,
            name: &str,
        ) -> ::core::option::Option<
            ::core::option::Option<&mut dyn ::cls_core::__private::JsonLeaf>,
        > {
            match name {
                "user" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<User>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.user),
                    )
                }
                "type" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.r#type),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ::cls_core::__private::ClsStore for AppStore {
        fn paths() -> &'static [&'static str] {
            static PATHS: ::cls_core::__private::OnceLock<
                ::std::vec::Vec<&'static str>,
            > = ::cls_core::__private::OnceLock::new();
            PATHS
                .get_or_init(|| ::cls_core::__private::expand_paths(
                    &[
                        (
                            "user",
                            (&::cls_core::__private::Probe::<User>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                        (
                            "type",
                            (&::cls_core::__private::Probe::<String>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                    ],
                ))
        }
    }
    #[automatically_derived]
    impl ::cls_core::__private::DerivedStore for AppStore {
        #[inline]
        fn __store_name() -> &'static str {
            "AppStore"
        }
        #[inline]
        fn __has_local() -> bool {
            false
                || (&::cls_core::__private::Probe::<User>::NEW).field_kind().has_local()
                || (&::cls_core::__private::Probe::<String>::NEW)
                    .field_kind()
                    .has_local()
        }
        #[inline]
        fn __reset_local(&mut self) {
            (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .reset_local(&mut self.user);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .reset_local(&mut self.r#type);
        }
        #[inline]
        fn __carry_clone(&self) -> Self {
            if (&::cls_core::__private::Probe::<(User, (String, ()))>::NEW)
                .clone_kind()
                .is_clone()
            {
                Self {
                    user: (&::cls_core::__private::Probe::<User>::NEW)
                        .field_kind()
                        .carry(
                            &self.user,
                            |leaf| {
                                (&::cls_core::__private::Probe::<User>::NEW)
                                    .clone_kind()
                                    .clone_leaf(leaf)
                            },
                        ),
                    r#type: (&::cls_core::__private::Probe::<String>::NEW)
                        .field_kind()
                        .carry(
                            &self.r#type,
                            |leaf| {
                                (&::cls_core::__private::Probe::<String>::NEW)
                                    .clone_kind()
                                    .clone_leaf(leaf)
                            },
                        ),
                }
            } else {
                ::cls_core::__private::carry_by_clone(self)
            }
        }
        #[inline]
        fn __visit_tagged(
            &self,
            tag: ::cls_core::__private::FieldTag,
            visitor: &mut dyn ::cls_core::__private::TagVisitor,
        ) {
            let _ = (&tag, &visitor);
            (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .visit_tagged(&self.user, tag, visitor);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .visit_tagged(&self.r#type, tag, visitor);
        }
        fn __tagged_keys(
            tag: ::cls_core::__private::FieldTag,
            keys: &mut ::std::vec::Vec<&'static str>,
        ) {
            let _ = (&tag, &keys);
            (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .tagged_keys(tag, keys);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .tagged_keys(tag, keys);
        }
        const __PROPAGATE_KEYS: &'static ::cls_core::__private::KeyTree = &::cls_core::__private::KeyTree {
            store: "AppStore",
            fields: &[],
            nested: &[
                ("user", <::cls_core::__private::KeyProbe<User>>::PROPAGATE_KEYS),
                ("type", <::cls_core::__private::KeyProbe<String>>::PROPAGATE_KEYS),
            ],
        };
        fn __set_tagged(
            &mut self,
            tag: ::cls_core::__private::FieldTag,
            key: &str,
            value: &str,
        ) -> ::core::result::Result<bool, ::cls_core::__private::SetTaggedError> {
            let _ = (&tag, &key, &value);
            match (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .set_tagged(&mut self.user, tag, key, value)
            {
                ::core::result::Result::Ok(false) => {}
                done => return done,
            }
            match (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .set_tagged(&mut self.r#type, tag, key, value)
            {
                ::core::result::Result::Ok(false) => {}
                done => return done,
            }
            ::core::result::Result::Ok(false)
        }
    }
    const _: () = ::cls_core::__private::check_nested_keys(
        <AppStore as ::cls_core::__private::DerivedStore>::__PROPAGATE_KEYS,
        0usize,
    );
    const _: () = ::cls_core::__private::check_nested_keys(
        <AppStore as ::cls_core::__private::DerivedStore>::__PROPAGATE_KEYS,
        1usize,
    );
};
