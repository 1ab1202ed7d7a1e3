namespace Parley.Fuzz;

/// <summary>
/// One fuzz target: feeds an input to the code under test and tells the clear errors that code documents for bad input
/// from crashes. Anything else that escapes <see cref="Run"/> is a finding, as is an input that makes the code allocate
/// more than its budget.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>Allocation allowed for any input, on top of <see cref="AllocationPerInputByte"/> times its length.</summary>
    private const long BaseAllocationBudget = 32L * 1024 * 1024;

    /// <summary>Allocation allowed per input byte: UTF-16 text, trees and copies stay well under this for linear code.</summary>
    private const long AllocationPerInputByte = 256;

    /// <summary>The name used on the command line and for the corpus folder.</summary>
    public abstract string Name { get; }

    /// <summary>What the target covers, for the usage text.</summary>
    public abstract string Description { get; }

    /// <summary>Runs one input. Clear errors are swallowed; any other exception propagates.</summary>
    /// <exception cref="FuzzFindingException">The input made the code allocate more than the budget.</exception>
    public void Run(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        try
        {
            Feed(input);
        }
        catch (Exception e) when (IsClearError(e))
        {
            // The documented answer to bad input.
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var budget = BaseAllocationBudget + (AllocationPerInputByte * input.Length);
        if (allocated > budget)
        {
            throw new FuzzFindingException($"{Name}: {allocated} bytes allocated for an input of {input.Length} bytes (budget {budget}).");
        }
    }

    /// <summary>Feeds the input to the code under test.</summary>
    protected abstract void Feed(byte[] input);

    /// <summary>Whether the exception is one the code documents for malformed input.</summary>
    protected abstract bool IsClearError(Exception exception);
}

/// <summary>A property the harness checks (a round trip, a budget) does not hold: a finding, like a crash.</summary>
internal sealed class FuzzFindingException(string message) : Exception(message);
