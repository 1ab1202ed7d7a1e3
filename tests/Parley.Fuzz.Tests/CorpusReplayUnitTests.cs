namespace Parley.Fuzz.Tests;

/// <summary>Every committed seed and every regression fixture, through its target in this process.</summary>
public sealed class CorpusReplayUnitTests
{
    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_and_regressions_run_without_a_finding(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var paths = new List<string> { Repository.CorpusOf(name) };
        if (Directory.Exists(Repository.RegressionsOf(name)))
        {
            paths.Add(Repository.RegressionsOf(name));
        }

        var files = Replay.Files(paths);
        Assert.NotEmpty(files);
        var failures = Replay.Run(target, files);
        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Select(f => $"{Path.GetFileName(f.File)}: {f.Exception}")));
    }

    [Fact]
    public void Every_target_has_a_corpus_folder_and_every_corpus_folder_a_target()
    {
        var folders = Directory.GetDirectories(Path.Combine(Repository.Root, "fuzz", "corpus")).Select(Path.GetFileName).Order();
        Assert.Equal(FuzzTargets.All.Select(t => t.Name).Order(), folders);
    }

    [Fact]
    public void An_input_that_allocates_over_the_budget_is_a_finding()
    {
        var target = new AllocatingTarget();
        target.Run([]);
        Assert.Throws<FuzzFindingException>(() => target.Run([1]));
    }

    private sealed class AllocatingTarget : FuzzTarget
    {
        public override string Name => "allocating";

        public override string Description => "allocates 64 MiB for a non-empty input";

        protected override void Feed(byte[] input) => GC.KeepAlive(new byte[input.Length == 0 ? 16 : 64 * 1024 * 1024]);

        protected override bool IsClearError(Exception exception) => false;
    }
}
