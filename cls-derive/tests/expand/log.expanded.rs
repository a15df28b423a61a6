#[derive(ClsStore, Clone, Default)]
struct User {
    #[cls(log = "user_id")]
    id: u64,
    name: String,
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
        message = "no field `{Name}` in `User`",
        label = "`User` has no such field (the name is spelled out letter by letter above)",
        note = "the fields of `User` are: `id`, `name`"
    )]
    pub trait ClsFieldOfUser<Name> {
        type Type: 'static;
        fn field(&self) -> &Self::Type;
        fn field_mut(&mut self) -> &mut Self::Type;
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ClsFieldOfUser<
        (::cls_core::__private::chars::i, ::cls_core::__private::chars::d),
    > for User {
        type Type = u64;
        #[inline]
        fn field(&self) -> &u64 {
            &self.id
        }
        #[inline]
        fn field_mut(&mut self) -> &mut u64 {
            &mut self.id
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ClsFieldOfUser<
        (
            ::cls_core::__private::chars::n,
            ::cls_core::__private::chars::a,
            ::cls_core::__private::chars::m,
            ::cls_core::__private::chars::e,
        ),
    > for User {
        type Type = String;
        #[inline]
        fn field(&self) -> &String {
            &self.name
        }
        #[inline]
        fn field_mut(&mut self) -> &mut String {
            &mut self.name
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl<
        __ClsName,
        __ClsRest,
    > ::cls_core::__private::Resolve<::cls_core::__private::Cons<__ClsName, __ClsRest>>
    for User
    where
        Self: ClsFieldOfUser<__ClsName>,
        <Self as ClsFieldOfUser<
            __ClsName,
        >>::Type: ::cls_core::__private::Resolve<__ClsRest>,
    {
        type Value = <<Self as ClsFieldOfUser<
            __ClsName,
        >>::Type as ::cls_core::__private::Resolve<__ClsRest>>::Value;
        #[inline]
        fn resolve(&self) -> &Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve(ClsFieldOfUser::<__ClsName>::field(self))
        }
        #[inline]
        fn resolve_mut(&mut self) -> &mut Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve_mut(ClsFieldOfUser::<__ClsName>::field_mut(self))
        }
    }
    #[automatically_derived]
    impl ::cls_core::__private::DynStore for User {
        fn dyn_name(&self) -> &'static str {
            "User"
        }
        fn dyn_field_names(&self) -> &'static [&'static str] {
            &["id", "name"]
        }
        fn dyn_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<::cls_core::__private::FieldRef<'_>> {
            match name {
                "id" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<u64>::NEW)
                            .field_kind()
                            .as_store(&self.id),
                        json: (&::cls_core::__private::Probe::<u64>::NEW)
                            .json_kind()
                            .as_json(&self.id),
                        ty: "u64",
                        terminal: false,
                        generic: false,
                    })
                }
                "name" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store(&self.name),
                        json: (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json(&self.name),
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
                "id" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<u64>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.id),
                    )
                }
                "name" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.name),
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
                "id" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<u64>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.id),
                    )
                }
                "name" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.name),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ::cls_core::__private::ClsStore for User {
        fn paths() -> &'static [&'static str] {
            static PATHS: ::cls_core::__private::OnceLock<
                ::std::vec::Vec<&'static str>,
            > = ::cls_core::__private::OnceLock::new();
            PATHS
                .get_or_init(|| ::cls_core::__private::expand_paths(
                    &[
                        (
                            "id",
                            (&::cls_core::__private::Probe::<u64>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                        (
                            "name",
                            (&::cls_core::__private::Probe::<String>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                    ],
                ))
        }
    }
    #[automatically_derived]
    impl ::cls_core::__private::DerivedStore for User {
        #[inline]
        fn __store_name() -> &'static str {
            "User"
        }
        #[inline]
        fn __has_local() -> bool {
            false || (&::cls_core::__private::Probe::<u64>::NEW).field_kind().has_local()
                || (&::cls_core::__private::Probe::<String>::NEW)
                    .field_kind()
                    .has_local()
        }
        #[inline]
        fn __reset_local(&mut self) {
            (&::cls_core::__private::Probe::<u64>::NEW)
                .field_kind()
                .reset_local(&mut self.id);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .reset_local(&mut self.name);
        }
        #[inline]
        fn __carry_clone(&self) -> Self {
            if (&::cls_core::__private::Probe::<(u64, (String, ()))>::NEW)
                .clone_kind()
                .is_clone()
            {
                Self {
                    id: (&::cls_core::__private::Probe::<u64>::NEW)
                        .field_kind()
                        .carry(
                            &self.id,
                            |leaf| {
                                (&::cls_core::__private::Probe::<u64>::NEW)
                                    .clone_kind()
                                    .clone_leaf(leaf)
                            },
                        ),
                    name: (&::cls_core::__private::Probe::<String>::NEW)
                        .field_kind()
                        .carry(
                            &self.name,
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
            if tag == ::cls_core::__private::FieldTag::Log {
                (&&&::cls_core::__private::Probe::<u64>::NEW)
                    .tag_kind()
                    .visit_log(&self.id, "user_id", visitor);
            }
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .visit_tagged(&self.name, tag, visitor);
        }
        fn __tagged_keys(
            tag: ::cls_core::__private::FieldTag,
            keys: &mut ::std::vec::Vec<&'static str>,
        ) {
            let _ = (&tag, &keys);
            if tag == ::cls_core::__private::FieldTag::Log {
                keys.push("user_id");
            }
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .tagged_keys(tag, keys);
        }
        const __PROPAGATE_KEYS: &'static ::cls_core::__private::KeyTree = &::cls_core::__private::KeyTree {
            store: "User",
            fields: &[],
            nested: &[
                ("name", <::cls_core::__private::KeyProbe<String>>::PROPAGATE_KEYS),
            ],
        };
        fn __set_tagged(
            &mut self,
            tag: ::cls_core::__private::FieldTag,
            key: &str,
            value: &str,
        ) -> ::core::result::Result<bool, ::cls_core::__private::SetTaggedError> {
            let _ = (&tag, &key, &value);
            match (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .set_tagged(&mut self.name, tag, key, value)
            {
                ::core::result::Result::Ok(false) => {}
                done => return done,
            }
            ::core::result::Result::Ok(false)
        }
    }
    const _: () = ::cls_core::__private::check_nested_keys(
        <User as ::cls_core::__private::DerivedStore>::__PROPAGATE_KEYS,
        0usize,
    );
};
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(log)]
    tenant: String,
    #[cls(log = "session", local)]
    session: Option<u64>,
    user: User,
    secret: String,
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
        note = "the fields of `AppStore` are: `tenant`, `session`, `user`, `secret`"
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
            ::cls_core::__private::chars::t,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::n,
            ::cls_core::__private::chars::a,
            ::cls_core::__private::chars::n,
            ::cls_core::__private::chars::t,
        ),
    > for AppStore {
        type Type = String;
        #[inline]
        fn field(&self) -> &String {
            &self.tenant
        }
        #[inline]
        fn field_mut(&mut self) -> &mut String {
            &mut self.tenant
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl ClsFieldOfAppStore<
        (
            ::cls_core::__private::chars::s,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::s,
            ::cls_core::__private::chars::s,
            ::cls_core::__private::chars::i,
            ::cls_core::__private::chars::o,
            ::cls_core::__private::chars::n,
        ),
    > for AppStore {
        type Type = Option<u64>;
        #[inline]
        fn field(&self) -> &Option<u64> {
            &self.session
        }
        #[inline]
        fn field_mut(&mut self) -> &mut Option<u64> {
            &mut self.session
        }
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
            ::cls_core::__private::chars::s,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::c,
            ::cls_core::__private::chars::r,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::t,
        ),
    > for AppStore {
        type Type = String;
        #[inline]
        fn field(&self) -> &String {
            &self.secret
        }
        #[inline]
        fn field_mut(&mut self) -> &mut String {
            &mut self.secret
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
            &["tenant", "session", "user", "secret"]
        }
        fn dyn_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<::cls_core::__private::FieldRef<'_>> {
            match name {
                "tenant" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store(&self.tenant),
                        json: (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json(&self.tenant),
                        ty: "String",
                        terminal: false,
                        generic: false,
                    })
                }
                "session" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<Option<u64>>::NEW)
                            .field_kind()
                            .as_store(&self.session),
                        json: (&::cls_core::__private::Probe::<Option<u64>>::NEW)
                            .json_kind()
                            .as_json(&self.session),
                        ty: "Option<u64>",
                        terminal: false,
                        generic: false,
                    })
                }
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
                "secret" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store(&self.secret),
                        json: (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json(&self.secret),
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
                "tenant" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.tenant),
                    )
                }
                "session" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<Option<u64>>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.session),
                    )
                }
                "user" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<User>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.user),
                    )
                }
                "secret" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.secret),
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
                "tenant" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.tenant),
                    )
                }
                "session" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<Option<u64>>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.session),
                    )
                }
                "user" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<User>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.user),
                    )
                }
                "secret" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<String>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.secret),
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
                            "tenant",
                            (&::cls_core::__private::Probe::<String>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                        (
                            "session",
                            (&::cls_core::__private::Probe::<Option<u64>>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                        (
                            "user",
                            (&::cls_core::__private::Probe::<User>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                        (
                            "secret",
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
                || (&::cls_core::__private::Probe::<String>::NEW)
                    .field_kind()
                    .has_local() || true
                || (&::cls_core::__private::Probe::<User>::NEW).field_kind().has_local()
                || (&::cls_core::__private::Probe::<String>::NEW)
                    .field_kind()
                    .has_local()
        }
        #[inline]
        fn __reset_local(&mut self) {
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .reset_local(&mut self.tenant);
            self.session = ::cls_core::__private::local_default::<Option<u64>>();
            (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .reset_local(&mut self.user);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .reset_local(&mut self.secret);
        }
        #[inline]
        fn __carry_clone(&self) -> Self {
            if (&::cls_core::__private::Probe::<(String, (User, (String, ())))>::NEW)
                .clone_kind()
                .is_clone()
            {
                Self {
                    tenant: (&::cls_core::__private::Probe::<String>::NEW)
                        .field_kind()
                        .carry(
                            &self.tenant,
                            |leaf| {
                                (&::cls_core::__private::Probe::<String>::NEW)
                                    .clone_kind()
                                    .clone_leaf(leaf)
                            },
                        ),
                    session: ::cls_core::__private::local_default::<Option<u64>>(),
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
                    secret: (&::cls_core::__private::Probe::<String>::NEW)
                        .field_kind()
                        .carry(
                            &self.secret,
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
            if tag == ::cls_core::__private::FieldTag::Log {
                (&&&::cls_core::__private::Probe::<String>::NEW)
                    .tag_kind()
                    .visit_log(&self.tenant, "tenant", visitor);
            }
            if tag == ::cls_core::__private::FieldTag::Log {
                (&&&::cls_core::__private::Probe::<Option<u64>>::NEW)
                    .tag_kind()
                    .visit_log(&self.session, "session", visitor);
            }
            (&::cls_core::__private::Probe::<User>::NEW)
                .field_kind()
                .visit_tagged(&self.user, tag, visitor);
            (&::cls_core::__private::Probe::<String>::NEW)
                .field_kind()
                .visit_tagged(&self.secret, tag, visitor);
        }
        fn __tagged_keys(
            tag: ::cls_core::__private::FieldTag,
            keys: &mut ::std::vec::Vec<&'static str>,
        ) {
            let _ = (&tag, &keys);
            if tag == ::cls_core::__private::FieldTag::Log {
                keys.push("tenant");
            }
            if tag == ::cls_core::__private::FieldTag::Log {
                keys.push("session");
            }
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
                ("secret", <::cls_core::__private::KeyProbe<String>>::PROPAGATE_KEYS),
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
                .set_tagged(&mut self.secret, tag, key, value)
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
