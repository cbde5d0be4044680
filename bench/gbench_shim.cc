// The thin C++ shim between Google Benchmark and the C benchmark bodies.
// It only forwards: no benchmark logic lives here.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench.h"

struct kb_bench {
	benchmark::internal::Benchmark *b;
};

namespace
{
benchmark::State &S(struct kb_bench_state *st)
{
	return *reinterpret_cast<benchmark::State *>(st);
}
const benchmark::State &S(const struct kb_bench_state *st)
{
	return *reinterpret_cast<const benchmark::State *>(st);
}
} // namespace

extern "C" struct kb_bench *kb_bench_register(const char *name, kb_bench_fn fn)
{
	auto *h = new kb_bench;
	h->b = benchmark::RegisterBenchmark(name, [fn](benchmark::State &s) {
		fn(reinterpret_cast<struct kb_bench_state *>(&s));
	});
	return h;
}

extern "C" void kb_bench_args(struct kb_bench *b, unsigned n, const int64_t *args)
{
	b->b->Args(std::vector<int64_t>(args, args + n));
}

extern "C" void kb_bench_arg_names(struct kb_bench *b, unsigned n, const char *const *names)
{
	std::vector<std::string> v;
	for (unsigned i = 0; i < n; i++)
		v.emplace_back(names[i]);
	b->b->ArgNames(v);
}

extern "C" void kb_bench_use_real_time(struct kb_bench *b)
{
	b->b->UseRealTime();
}

extern "C" bool kb_bench_keep_running(struct kb_bench_state *st)
{
	return S(st).KeepRunning();
}

extern "C" bool kb_bench_keep_running_batch(struct kb_bench_state *st, uint64_t n)
{
	return S(st).KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}

extern "C" int64_t kb_bench_state_range(const struct kb_bench_state *st, unsigned i)
{
	return S(st).range(i);
}

extern "C" uint64_t kb_bench_state_iterations(const struct kb_bench_state *st)
{
	return static_cast<uint64_t>(S(st).iterations());
}

extern "C" void kb_bench_state_pause(struct kb_bench_state *st)
{
	S(st).PauseTiming();
}

extern "C" void kb_bench_state_resume(struct kb_bench_state *st)
{
	S(st).ResumeTiming();
}

extern "C" void kb_bench_state_set_items_processed(struct kb_bench_state *st, uint64_t n)
{
	S(st).SetItemsProcessed(static_cast<int64_t>(n));
}

extern "C" void kb_bench_state_set_bytes_processed(struct kb_bench_state *st, uint64_t n)
{
	S(st).SetBytesProcessed(static_cast<int64_t>(n));
}

extern "C" void kb_bench_state_counter(struct kb_bench_state *st, const char *name, double value,
				       int rate)
{
	S(st).counters[name] = benchmark::Counter(value, rate ? benchmark::Counter::kIsRate
							      : benchmark::Counter::kDefaults);
}

extern "C" void kb_bench_state_set_label(struct kb_bench_state *st, const char *label)
{
	S(st).SetLabel(label);
}

extern "C" void kb_bench_state_skip_with_error(struct kb_bench_state *st, const char *msg)
{
	S(st).SkipWithError(msg);
}

extern "C" void kb_bench_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

extern "C" int kb_bench_run(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
