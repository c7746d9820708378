package main

import (
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) scimd.Store { return newMemStore(schema.DefaultRegistry()) })
}

func TestStoreConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, func(*testing.T) scimd.Store { return newMemStore(schema.DefaultRegistry()) })
}

func TestStoreExtensions(t *testing.T) {
	storetest.RunExtensions(t, func(_ *testing.T, reg *schema.Registry) scimd.Store { return newMemStore(reg) })
}
